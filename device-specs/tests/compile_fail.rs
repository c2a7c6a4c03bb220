//! What must not compile, does not compile.
//!
//! Each file in `tests/compile-fail/` misuses the generated edu or ivshmem
//! API in one way; trybuild checks that the compiler refuses it with the
//! error recorded next to it (`.stderr`). Regenerate the expectations with
//! `TRYBUILD=overwrite cargo test -p device-specs --test compile_fail`.

#[test]
fn misuse_of_generated_registers_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile-fail/*.rs");
}
