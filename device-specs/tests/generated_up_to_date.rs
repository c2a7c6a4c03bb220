//! The checked-in generated modules are exactly what the generator makes
//! from the YAML today. When this fails, review the difference and
//! regenerate with `UPDATE_GENERATED=1 cargo test -p device-specs --test generated_up_to_date`.

use std::path::Path;

#[test]
fn checked_in_generated_code_matches_the_generator() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let update = std::env::var_os("UPDATE_GENERATED").is_some();
    let mut stale = Vec::new();
    for spec in device_specs::SPECS {
        let yaml = root.join("specs").join(spec.file);
        let fresh = register_codegen::generate_file(&yaml).unwrap_or_else(|e| panic!("{e}"));
        let path = root.join("src/generated").join(format!("{}.rs", spec.name));
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != fresh {
            if update {
                std::fs::write(&path, &fresh).expect("write generated file");
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "generated code is out of date: {stale:?}\nrun `UPDATE_GENERATED=1 cargo test -p device-specs --test generated_up_to_date` and review the diff"
    );
}

#[test]
fn shipped_yaml_is_the_file_in_specs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for spec in device_specs::SPECS {
        let on_disk = std::fs::read_to_string(root.join("specs").join(spec.file)).unwrap();
        assert_eq!(on_disk, spec.yaml, "{}", spec.file);
        register_spec::parse(spec.yaml, spec.file).unwrap_or_else(|e| panic!("{e}"));
    }
}
