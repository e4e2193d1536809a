#![no_main]
//! See `danebound_tests::fuzzing::upstream_replies`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| danebound_tests::fuzzing::upstream_replies(data));
