//! A crate outside the workspace (`fixtures/downstream-crate`) generates its
//! register blocks from its own YAML through the one-line `build.rs` call,
//! and its own tests pass over the generated code.

use std::path::PathBuf;
use std::process::Command;

/// `cargo ARGS --manifest-path fixtures/downstream-crate/Cargo.toml`, in a
/// target directory of its own, with extra environment.
fn cargo_on_fixture(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let manifest = workspace.join("fixtures/downstream-crate/Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(cargo)
        .args(args)
        .arg("--manifest-path")
        .arg(&manifest)
        .env(
            "CARGO_TARGET_DIR",
            workspace.join("target/downstream-crate"),
        )
        .envs(env.iter().copied())
        .output()
        .expect("run cargo on the fixture")
}

#[test]
fn downstream_crate_builds_its_blocks_from_yaml_via_build_rs() {
    let out = cargo_on_fixture(&["test"], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "fixture tests failed:\n{stdout}\n{stderr}"
    );
    let passed: usize = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test result: ok. "))
        .filter_map(|l| l.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert!(
        passed >= 8,
        "expected the fixture's 8 tests to run, saw {passed}:\n{stdout}"
    );
}

/// Descriptions are copied into rustdoc comments: brackets, `<T>`, stray
/// backticks, indented lines and bare URLs in them must not become broken
/// links, HTML tags, doctests or warnings in the user's crate, which is
/// documented here with rustdoc warnings denied.
#[test]
fn downstream_crate_documents_with_warnings_denied() {
    let out = cargo_on_fixture(&["doc", "--no-deps"], &[("RUSTDOCFLAGS", "-D warnings")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "cargo doc failed:\n{stderr}");
    assert!(!stderr.contains("warning"), "rustdoc warned:\n{stderr}");
}

#[test]
fn build_script_errors_name_the_file_line_and_column() {
    let dir = std::env::temp_dir().join(format!("codegen-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = dir.join("bad.yaml");
    std::fs::write(
        &yaml,
        "name: bad\nblocks:\n  - name: regs\n    size: 0x10\n    registers:\n      - name: A\n        offset: 0x20\n",
    )
    .unwrap();
    let err = register_codegen::generate_file(&yaml)
        .unwrap_err()
        .to_string();
    std::fs::remove_dir_all(&dir).ok();
    assert!(err.contains("bad.yaml:6:"), "{err}");
}
