//! libFuzzer entry point; the body is shared with the stable driver in tests/fuzz.rs.
#![no_main]

#[path = "../bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::set(data));
