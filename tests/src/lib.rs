//! Test support for danebound: the rpl replay harness, the signed test lab, the
//! DANE test driver and the end-to-end (Postfix) support. Not part of the shipped library.

pub mod danetest;
pub mod e2e;
pub mod fuzzing;
pub mod lab;
pub mod replay;
pub mod skip;
pub mod zonedb;
