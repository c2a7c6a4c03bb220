//! `register_spec::parse` on arbitrary bytes (read as UTF-8, invalid
//! sequences replaced), then everything a parsed model is used for.
//!
//! A crash is a panic (including arithmetic overflow: fuzz builds check
//! it), a hang or an assertion below: errors must be one line each and
//! listed once, and a parsed model must keep the promises of the model's
//! docs.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use register_spec::{Device, Diagnostics};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match register_spec::parse(&text, "fuzz.yaml") {
        Ok(device) => use_model(&device),
        Err(errors) => check_errors(&errors),
    }
});

/// Every error is one line, and none is listed twice.
fn check_errors(errors: &Diagnostics) {
    assert!(!errors.is_empty());
    let mut seen = HashSet::new();
    for e in errors {
        assert!(!e.message.contains(['\n', '\r']), "{:?}", e.message);
        assert!(e.span.line >= 1 && e.span.column >= 1, "{e}");
        assert!(seen.insert((e.span, &e.message)), "listed twice: {e}");
    }
    assert_eq!(errors.to_string().lines().count(), errors.len());
}

/// What the code generator and the tools do with a model: every helper on
/// every item, checked against the model's invariants.
fn use_model(device: &Device) {
    for b in &device.blocks {
        assert!(device.block(&b.name).is_some());
        assert!(b.size > 0);
        for r in &b.registers {
            assert!(b.register(&r.name).is_some());
            let bytes = r.width.bytes();
            assert_eq!(r.offset % bytes, 0);
            assert!(r.reset <= r.width.max_value());
            let count = r.count();
            assert!(count >= 1);
            let last = r.offset_of(count - 1);
            assert!(last.checked_add(bytes).is_some_and(|end| end <= b.size));
            assert!(r.offset_of(0) == r.offset && r.offset_of(count) >= last);
            let _ = r.offset_of(u64::MAX);
            let _ = r.read_has_side_effects();
            // The one write rule: keep, base and zero bits are disjoint and
            // inside the register; a write naming every bit needs no read.
            let rule = r.write_rule();
            let full = r.width.max_value();
            assert_eq!(rule.keep & rule.base, 0);
            assert_eq!((rule.keep | rule.base) & rule.zero, 0);
            assert_eq!((rule.keep | rule.base | rule.zero) & !full, 0);
            assert!(!rule.needs_read(full));
            assert_eq!(rule.store(full, full, 0x5a5a_5a5a_5a5a_5a5a & full), 0x5a5a_5a5a_5a5a_5a5a & full);
            let mut used = 0u64;
            for f in &r.fields {
                assert!(r.field(&f.name).is_some());
                assert!(f.lsb <= f.msb && f.msb < r.width.bits());
                assert_eq!(f.bits(), f.msb - f.lsb + 1);
                let m = f.shifted_mask();
                assert_eq!(m >> f.lsb, f.mask());
                assert_eq!(used & m, 0, "fields overlap");
                used |= m;
                let _ = f.access_in(r);
                for v in &f.values {
                    assert!(v.value <= f.mask());
                }
            }
        }
    }
    // The code generator takes any valid model: validation has already
    // refused every name the generated items could not have.
    if let Err(e) = register_codegen::generate(device, "fuzz.yaml") {
        panic!("a valid map does not generate: {e}");
    }
}
