//! Concurrent field writes from several regpoke processes to one register
//! must not lose updates (the read-modify-write holds an advisory lock).

mod common;

use std::process::{Command, Stdio};

use common::{kinds_spec, Dev};

const FLIPS: usize = 201;

/// A batch script that flips LANES.L<lane> FLIPS times (ending at 1) and,
/// after each write, checks that the bit it just wrote is still there: a
/// lost update (another process writing back a stale copy) fails the
/// `expect` with exit 3.
fn script(lane: usize) -> String {
    let mut s = String::new();
    for i in 0..FLIPS {
        let v = (i + 1) % 2;
        s.push_str(&format!(
            "write LANES.L{lane}={v}\nexpect LANES.L{lane}=={v}\n"
        ));
    }
    s
}

fn run_four(d: &Dev, extra: &[&str]) -> Vec<std::process::Output> {
    let spec = kinds_spec();
    let children: Vec<_> = (0..4)
        .map(|lane| {
            let path = d.dir.path().join(format!("lane{lane}.txt"));
            std::fs::write(&path, script(lane)).unwrap();
            Command::new(env!("CARGO_BIN_EXE_regpoke"))
                .arg("--spec")
                .arg(&spec)
                .arg("--file")
                .arg(&d.file)
                .arg("--lock-dir")
                .arg(&d.locks)
                .args(extra)
                .arg("batch")
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

#[test]
fn four_processes_flipping_their_own_bits_lose_nothing() {
    let d = Dev::kinds();
    // Bits outside the lanes must survive every read-modify-write.
    d.poke32(0x30, 0xa5a5_0000);
    for out in run_four(&d, &[]) {
        assert!(
            out.status.success(),
            "a batch failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(d.peek32(0x30), 0xa5a5_000f);
}

#[test]
fn separate_invocations_lose_nothing_either() {
    let d = Dev::kinds();
    let spec = kinds_spec();
    let threads: Vec<_> = (0..4)
        .map(|lane| {
            let file = d.file.clone();
            let locks = d.locks.clone();
            let spec = spec.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let v = (i + 1) % 2;
                    let st = Command::new(env!("CARGO_BIN_EXE_regpoke"))
                        .arg("--spec")
                        .arg(&spec)
                        .arg("--file")
                        .arg(&file)
                        .arg("--lock-dir")
                        .arg(&locks)
                        .args(["write", &format!("LANES.L{lane}={v}")])
                        .status()
                        .unwrap();
                    assert!(st.success());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(d.peek32(0x30), 0xf);
}
