//! Selecting VFIO on a fake sysfs tree: `--vfio` and the automatic choice
//! for a device bound to vfio-pci, the errors before anything is opened
//! (not bound, no IOMMU group, conflicting selectors), and `list`. The
//! mapping itself and the interrupts are tested in the VFIO VM
//! (`vfio_regpoke_reads_writes_and_waits_by_name`).

use std::process::Output;

use assert_cmd::Command;
use pci_sysfs::fake::{FakePci, FakeSysfs};

const EDU: &str = "0000:00:04.0";

/// A tree with an edu bound to `driver`, in IOMMU group `group` if given.
fn tree(driver: &str, group: Option<u32>) -> FakeSysfs {
    let f = FakeSysfs::new().unwrap();
    let dir = f.add_pci(&FakePci::edu(EDU).with_driver(driver)).unwrap();
    if let Some(g) = group {
        let groups = f.root().join("sys/kernel/iommu_groups");
        std::fs::create_dir_all(groups.join(g.to_string())).unwrap();
        std::os::unix::fs::symlink(groups.join(g.to_string()), dir.join("iommu_group")).unwrap();
    }
    f
}

fn run(f: &FakeSysfs, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_regpoke"))
        .arg("--sysfs-root")
        .arg(f.root())
        .arg("--lock-dir")
        .arg(f.root())
        .args(args)
        .output()
        .unwrap()
}

#[track_caller]
fn fails(out: &Output, code: i32, pieces: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{out:?}");
    for p in pieces {
        assert!(err.contains(p), "{p:?} missing from:\n{err}");
    }
    err
}

#[test]
fn vfio_refuses_a_device_not_bound_to_vfio_pci_and_says_how_to_bind() {
    let f = tree("uio_pci_generic", None);
    for args in [
        &["--spec", "edu", "--vfio", "read", "ID"][..],
        &["--spec", "edu", "--vfio=0000:00:04.0", "read", "ID"],
        &["--vfio=1234:11e8", "read", "0x0"],
    ] {
        fails(
            &run(&f, args),
            1,
            &[
                "0000:00:04.0 is bound to uio_pci_generic, not to vfio-pci",
                "echo vfio-pci > /sys/bus/pci/devices/0000:00:04.0/driver_override",
            ],
        );
    }
}

#[test]
fn automatic_choice_uses_vfio_only_for_a_device_bound_to_vfio_pci() {
    // No iommu_group link: VFIO fails before opening anything, and the
    // automatic choice does not fall back to sysfs resource0.
    let f = tree("vfio-pci", None);
    let out = run(&f, &["-v", "--spec", "edu", "read", "ID"]);
    let err = fails(
        &out,
        1,
        &[
            "found 0000:00:04.0 (1234:11e8, driver vfio-pci) from spec edu",
            "0000:00:04.0 has no IOMMU group",
            "so regpoke uses VFIO only",
            "--pci 0000:00:04.0",
        ],
    );
    assert!(!err.contains("resource0"), "{err}");
    // --vfio gives the same error, without the automatic choice's hint.
    let out = run(&f, &["--spec", "edu", "--vfio", "read", "ID"]);
    let err = fails(
        &out,
        1,
        &["0000:00:04.0 has no IOMMU group", "intel_iommu=on"],
    );
    assert!(!err.contains("uses VFIO only"), "{err}");
}

#[test]
fn list_names_vfio_and_the_group_node() {
    let f = tree("vfio-pci", Some(7));
    let out = run(&f, &["list"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let node = f.root().join("dev/vfio/7");
    assert!(
        text.contains(&format!("regs = BAR0 via vfio {}", node.display())),
        "{text}"
    );
    let out = run(&f, &["list", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let backend = &doc["pci"][0]["blocks"][0]["backend"];
    assert_eq!(backend["kind"], "vfio", "{doc}");
    assert_eq!(backend["pci"], EDU, "{doc}");
    assert_eq!(backend["bar"], 0, "{doc}");
}

#[test]
fn vfio_with_another_selector_or_without_a_device_is_a_usage_error() {
    let f = tree("vfio-pci", Some(7));
    fails(
        &run(&f, &["--spec", "edu", "--vfio", "--pci", EDU, "read", "ID"]),
        2,
        &["--pci and --vfio select different devices"],
    );
    fails(
        &run(&f, &["--spec", "edu", "--vfio", "--map", "1", "read", "ID"]),
        2,
        &["--map applies to --uio only"],
    );
    fails(
        &run(&f, &["--vfio", "read", "0x0"]),
        2,
        &["--vfio without a device: no device selected", "--vfio=BDF"],
    );
    fails(
        &run(&f, &["--vfio=00:1f.7", "read", "0x0"]),
        1,
        &["00:1f.7"],
    );
}

#[test]
fn interrupts_through_pci_of_a_vfio_device_point_to_vfio() {
    let f = tree("vfio-pci", Some(7));
    fails(
        &run(&f, &["--spec", "edu", "--pci", EDU, "irq", "count"]),
        1,
        &[
            "bound to vfio-pci, not to a UIO driver",
            "--vfio=0000:00:04.0 instead of --pci 0000:00:04.0",
        ],
    );
}

#[test]
fn vfio_value_without_equals_gets_a_hint() {
    let f = tree("vfio-pci", Some(7));
    fails(
        &run(&f, &["--spec", "edu", "--vfio", EDU, "read", "ID"]),
        2,
        &["--vfio takes its value after `=`: --vfio=0000:00:04.0"],
    );
}

#[test]
fn help_documents_vfio() {
    let out = Command::new(env!("CARGO_BIN_EXE_regpoke"))
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("--vfio[=<BDF|VENDOR:DEVICE>]"), "{text}");
    assert!(text.contains("VFIO when it is bound to vfio-pci"), "{text}");
}
