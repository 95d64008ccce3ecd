//! Spec decoding from outside text: any bytes, read as YAML and as JSON,
//! must end in bounded time and memory with specs or diagnostics, never a
//! panic. The same text also goes through the value codecs, which API and
//! request bodies use.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_engine::spec::source::{Format, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [Format::Yaml, Format::Json] {
        // Either answer is fine; what is checked is that it returns.
        let _ = parse(text, format, Some("fuzz".into()));
    }
    let _ = weir_codecs::yaml::from_str(text);
    let _ = weir_codecs::json::from_str(text);
});
