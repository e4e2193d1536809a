#![no_main]
//! See `danebound_tests::fuzzing::autotrust_file`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| danebound_tests::fuzzing::autotrust_file(data));
