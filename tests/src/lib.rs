//! Test support for danebound: the rpl replay harness, the signed test lab and
//! the DANE test driver. Not part of the shipped library.

pub mod danetest;
pub mod lab;
pub mod replay;
pub mod zonedb;
