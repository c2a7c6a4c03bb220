//! QEMU's `ivshmem-doorbell` as a client of our server, next to clients of
//! the library: it gets its ID (read back from its IVPosition register),
//! the library clients see it join with its vectors and ring it, it
//! accepts the news of a later peer, and its departure is announced.
//!
//! Starts QEMU under TCG without a guest (the firmware assigns the BARs),
//! a second or two: `cargo test -p ivshmem --test qemu -- --ignored`.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ivshmem::client::{Client, PeerEvent};

mod common;
use common::{next_events, ServerProc};

/// QEMU with its monitor on stdin/stdout; what it prints is collected.
struct Qemu {
    child: std::process::Child,
    out: Arc<Mutex<String>>,
}

impl Qemu {
    fn start(socket: &std::path::Path, vectors: u32) -> Qemu {
        let mut child = Command::new("qemu-system-x86_64")
            .args([
                "-M",
                "pc",
                "-accel",
                "tcg",
                "-nographic",
                "-nodefaults",
                "-monitor",
                "stdio",
            ])
            .arg("-chardev")
            .arg(format!("socket,path={},id=ivc", socket.display()))
            .arg("-device")
            .arg(format!("ivshmem-doorbell,chardev=ivc,vectors={vectors}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)");
        let out = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let out = out.clone();
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    out.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        Qemu { child, out }
    }

    /// Sends a monitor command and returns what QEMU printed after it,
    /// once `done` accepts it (at most 20 s).
    fn monitor(&mut self, command: &str, done: impl Fn(&str) -> bool) -> String {
        let start = self.out.lock().unwrap().len();
        writeln!(self.child.stdin.as_mut().unwrap(), "{command}").unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.out.lock().unwrap()[start..].to_string();
            if done(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "QEMU's answer to {command:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// BAR0 of the ivshmem device, once the firmware has assigned it.
    fn ivshmem_bar0(&mut self) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.monitor("info pci", |t| {
                t.matches("(qemu)").count() >= 1 && t.contains("Bus")
            });
            if let Some(at) = text.find("1af4:1110") {
                let rest = &text[at..];
                if let Some(bar) = rest.find("BAR0: 32 bit memory at 0x") {
                    let hex: String = rest[bar + 25..]
                        .chars()
                        .take_while(char::is_ascii_hexdigit)
                        .collect();
                    let addr = u64::from_str_radix(&hex, 16).unwrap();
                    if addr != 0 && addr < 0xffff_0000 {
                        return addr;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "the firmware never assigned BAR0:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "starts QEMU: cargo test -p ivshmem --test qemu -- --ignored"]
fn qemu_ivshmem_doorbell_is_a_peer() {
    let server = ServerProc::start(2);
    let mut c0 = Client::connect(&server.socket).unwrap();
    let mut qemu = Qemu::start(&server.socket, 2);
    assert_eq!(next_events(&mut c0), vec![PeerEvent::Joined(1)]);
    assert_eq!(c0.peer_vectors(1).unwrap(), 2);
    // A ring into QEMU: it drains the eventfd (no MSI-X without a guest
    // driver, so the interrupt is dropped), and stays up.
    c0.ring(1, 0).unwrap();
    c0.ring(1, 1).unwrap();

    // QEMU's IVPosition register holds the ID it was given.
    let bar0 = qemu.ivshmem_bar0();
    let text = qemu.monitor(&format!("xp /1wx {:#x}", bar0 + 8), |t| t.contains(": 0x"));
    let value = text.split(": 0x").nth(1).unwrap();
    assert!(
        value.starts_with("00000001"),
        "IVPosition is not 1:\n{text}"
    );

    // A later peer: QEMU takes its announcement; the newcomer sees QEMU.
    let c2 = Client::connect(&server.socket).unwrap();
    assert_eq!(c2.id(), 2);
    assert_eq!(c2.peers(), vec![0, 1]);
    assert_eq!(next_events(&mut c0), vec![PeerEvent::Joined(2)]);
    c2.ring(1, 1).unwrap();
    assert!(
        qemu.child.try_wait().unwrap().is_none(),
        "QEMU exited:\n{}",
        qemu.out.lock().unwrap()
    );

    // QEMU quits: the others hear it left.
    qemu.monitor("quit", |_| true);
    qemu.child.wait().unwrap();
    let output = qemu.out.lock().unwrap().clone();
    assert!(!output.contains("ivshmem"), "QEMU complained:\n{output}");
    assert_eq!(next_events(&mut c0), vec![PeerEvent::Left(1)]);
    assert_eq!(c0.peers(), vec![2]);
}
