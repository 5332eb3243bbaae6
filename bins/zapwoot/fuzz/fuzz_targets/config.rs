//! Arbitrary text as the configuration file, and every instance it declares through the
//! instance-document parser: errors, never a panic. The binary's own modules are compiled in.
#![no_main]
#![allow(dead_code)]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/config_file.rs"]
mod config_file;
#[path = "../../src/document.rs"]
mod document;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(file) = config_file::parse(text) {
        for table in &file.instances {
            if let Ok(doc) = serde_json::to_value(table) {
                let _ = document::to_new_instance(&doc);
            }
        }
    }
});
