//! Host side of the ivshmem-doorbell VM cases: an `ivshmem-server`
//! started by the harness, VMs connected to it, host peers as processes
//! (`vm-guest ring-peer --socket ...` run on the host, so that one can be
//! killed), and the scenarios themselves (used by `tests/vm.rs` and the
//! demo).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ivshmem::client::{Client, PeerEvent};
use qemu::{IvshmemServer, Vm};

use crate::host::{self, run_guest};
use crate::ivshmem_ring::{self, SHM_SIZE, SLOT_SIZE};

/// Vectors per peer in these cases: the exchange's data and space
/// vectors.
pub const VECTORS: u32 = ivshmem_ring::VECTORS;
/// How long a peer waits for its streams.
const PEER_TIMEOUT: Duration = Duration::from_secs(600);

/// `ivshmem-server` for the host: the sibling of the running program (the
/// demo and the benchmarks, built with `cargo build -p vm-tests -p ivshmem
/// --bins`), or else built by cargo into `target/host-tools`.
pub fn server_binary() -> Result<PathBuf, String> {
    if let Ok(exe) = std::env::current_exe() {
        if let Some(s) = exe.parent().map(|d| d.join("ivshmem-server")) {
            if s.is_file() {
                return Ok(s);
            }
        }
    }
    host::build_host_binary("ivshmem", "ivshmem-server")
}

/// Starts a server with [`SHM_SIZE`] bytes and [`VECTORS`] vectors.
pub fn start_server() -> Result<IvshmemServer, String> {
    IvshmemServer::start(&server_binary()?, SHM_SIZE, VECTORS).map_err(|e| e.to_string())
}

/// Boots a VM (the tests' configuration) with ivshmem-doorbell on `server`.
pub fn boot_on(
    server: &IvshmemServer,
    guest_bin: &Path,
    extra: &[(PathBuf, &str)],
) -> Result<Vm, String> {
    let mut c = host::config(guest_bin).ivshmem_doorbell(server.socket(), server.vectors());
    for (p, g) in extra {
        c = c.binary(p, *g);
    }
    Vm::boot(c).map_err(|e| e.to_string())
}

/// Connects a client of the test process itself.
pub fn connect(server: &IvshmemServer) -> Result<Client, String> {
    Client::connect_with_vectors(server.socket(), server.vectors())
        .map_err(|e| format!("connecting to {}: {e}", server.socket().display()))
}

/// A client of the test process with its peer events queued, so they can
/// be taken one at a time.
pub struct Watcher {
    /// The client.
    pub client: Client,
    pending: std::collections::VecDeque<PeerEvent>,
}

/// Connects a [`Watcher`].
pub fn watch(server: &IvshmemServer) -> Result<Watcher, String> {
    Ok(Watcher {
        client: connect(server)?,
        pending: Default::default(),
    })
}

impl Watcher {
    /// Waits up to 20 s for the next event.
    pub fn next_event(&mut self) -> Result<PeerEvent, String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Ok(e);
            }
            self.pending
                .extend(self.client.poll_events().map_err(|e| e.to_string())?);
            if self.pending.is_empty() {
                if Instant::now() > deadline {
                    return Err("no peer event within 20 s".into());
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Waits for `Joined(_)` and returns the new peer's ID.
    pub fn joined(&mut self) -> Result<u16, String> {
        match self.next_event()? {
            PeerEvent::Joined(p) => Ok(p),
            other => Err(format!("expected a peer to join, got {other:?}")),
        }
    }
}

/// A host peer process: `vm-guest ring-peer --socket S ARGS`, its output
/// lines collected.
pub struct PeerProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    /// Its peer ID (its first line).
    pub id: u16,
}

impl PeerProcess {
    /// Spawns the peer and waits for its `peer ID` line.
    pub fn spawn(program: &Path, socket: &Path, args: &str) -> Result<PeerProcess, String> {
        let mut child = Command::new(program)
            .arg("ring-peer")
            .arg("--socket")
            .arg(socket)
            .args(args.split_whitespace())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", program.display()))?;
        let (tx, rx) = mpsc::channel();
        for out in [
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for l in BufReader::new(out).lines().map_while(Result::ok) {
                    if tx.send(l).is_err() {
                        break;
                    }
                }
            });
        }
        let mut p = PeerProcess {
            child,
            lines: rx,
            seen: Vec::new(),
            id: 0,
        };
        let first = p.next_line(Duration::from_secs(20))?;
        p.id = first
            .strip_prefix("peer ")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("host peer's first line is {first:?}, not `peer ID`"))?;
        Ok(p)
    }

    fn next_line(&mut self, timeout: Duration) -> Result<String, String> {
        let l = self.lines.recv_timeout(timeout).map_err(|_| {
            format!(
                "no output from the host peer within {timeout:?}; so far: {:?}",
                self.seen
            )
        })?;
        self.seen.push(l.clone());
        Ok(l)
    }

    /// Waits up to `timeout` for a line starting with `prefix`; returns
    /// the lines seen so far.
    pub fn wait_line(&mut self, prefix: &str, timeout: Duration) -> Result<&[String], String> {
        let deadline = Instant::now() + timeout;
        while !self.seen.iter().any(|l| l.starts_with(prefix)) {
            let left = deadline.saturating_duration_since(Instant::now());
            self.next_line(left)
                .map_err(|e| format!("waiting for `{prefix}`: {e}"))?;
        }
        Ok(&self.seen)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for it to exit; `Ok(all output)` when it exits 0.
    pub fn finish(mut self, timeout: Duration) -> Result<Vec<String>, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait().map_err(|e| e.to_string())? {
                // The readers end with the pipes.
                while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(500)) {
                    self.seen.push(l);
                }
                return if st.success() {
                    Ok(std::mem::take(&mut self.seen))
                } else {
                    Err(format!(
                        "host peer {} exited with {st}: {:?}",
                        self.id, self.seen
                    ))
                };
            }
            while let Ok(l) = self.lines.try_recv() {
                self.seen.push(l);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "host peer {} still running after {timeout:?}: {:?}",
                    self.id, self.seen
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: dies without closing anything itself.
    pub fn kill(mut self) -> Result<(), String> {
        self.child.kill().map_err(|e| e.to_string())?;
        self.child.wait().map_err(|e| e.to_string())?;
        Ok(())
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test process's own mapping of the shared memory (a second mapping
/// of the client's memory fd, so the client stays usable mutably).
pub fn map_shared(client: &Client) -> Result<hal_core::Region, String> {
    devmem_backend::map_fd(
        client.memory_fd(),
        0,
        client.region().len(),
        "ivshmem shared memory",
    )
    .map_err(|e| e.to_string())
}

/// Runs `vm-guest ring-peer --guest ARGS` in `vm`; checks that it says it
/// is `peer ID` and succeeds.
pub fn guest_peer(vm: &Vm, id: u16, args: &str) -> Result<String, String> {
    let out = run_guest(vm, &format!("ring-peer --guest {args}"), PEER_TIMEOUT)?;
    let first = out.lines().next().unwrap_or_default();
    if first != format!("peer {id}") {
        return Err(format!(
            "the guest's IV_POSITION says `{first}`, but the server announced it as peer {id}"
        ));
    }
    Ok(out)
}

/// Open file descriptors of a process.
pub fn fd_count(pid: i32) -> Result<usize, String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .map_err(|e| format!("listing /proc/{pid}/fd: {e}"))
}

/// `ivshmem_doorbell_guest_rings_host_peer`: the guest rings the test
/// process's client through the typed block and through regpoke; its
/// IV_POSITION is the ID the server announced.
pub fn guest_rings_host(guest_bin: &Path, regpoke: &Path) -> Result<Vec<String>, String> {
    let mut log = Vec::new();
    let server = start_server()?;
    // A bystander first, so the host under test is not peer 0 (a doorbell
    // value of 0 would prove little) and a ring reaching the wrong peer shows.
    let bystander = connect(&server)?;
    let mut me = watch(&server)?;
    let h = me.client.id();
    let vm = boot_on(
        &server,
        guest_bin,
        &[(regpoke.to_path_buf(), host::GUEST_REGPOKE)],
    )?;
    let g = me.joined()?;
    log.push(format!(
        "host client is peer {h}; the VM joined as peer {g}"
    ));
    if me
        .client
        .wait(0, Some(Duration::from_millis(200)))
        .map_err(|e| e.to_string())?
    {
        return Err("the host's eventfd was rung before the guest rang it".into());
    }
    let out = run_guest(&vm, &format!("ivshmem-ring {h}"), Duration::from_secs(60))?;
    if !out.contains(&format!("IV_POSITION {g};")) {
        return Err(format!("guest: {out} (expected IV_POSITION {g})"));
    }
    if !me
        .client
        .wait(0, Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?
    {
        return Err(
            "the guest's doorbell write did not reach the host's eventfd within 10 s".into(),
        );
    }
    log.push(format!("typed block: {}; host woke up", out.trim()));
    let cmd = format!(
        "regpoke --spec ivshmem read IV_POSITION && regpoke --spec ivshmem -v write DOORBELL.PEER={h} DOORBELL.VECTOR=0"
    );
    let out = vm
        .run(&cmd, Duration::from_secs(60))
        .map_err(|e| e.to_string())?;
    if !out.success() || !out.output.contains(&format!("{:#010x}", g)) {
        return Err(format!(
            "regpoke in the guest: status {}: {}",
            out.status, out.output
        ));
    }
    if !me
        .client
        .wait(0, Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?
    {
        return Err("regpoke's doorbell did not reach the host's eventfd within 10 s".into());
    }
    log.extend(out.output.lines().map(|l| format!("regpoke: {l}")));
    log.push("host woke up again".into());
    if bystander
        .wait(0, Some(Duration::ZERO))
        .map_err(|e| e.to_string())?
    {
        return Err(format!(
            "peer {} was rung too, though no one rang it",
            bystander.id()
        ));
    }
    log.push(format!(
        "peer {} (a bystander) was not rung",
        bystander.id()
    ));
    drop(vm);
    match me.next_event()? {
        PeerEvent::Left(p) if p == g => log.push(format!("the VM left: peer {g} gone")),
        other => return Err(format!("expected peer {g} to leave, got {other:?}")),
    }
    drop((me, bystander));
    server.stop().map_err(|e| e.to_string())?;
    Ok(log)
}

/// `ivshmem_two_vms_two_host_processes_exchange_messages`: VM A, VM B and
/// host processes H1, H2 exchange `n` checked messages per stream:
///
/// | ring | stream | notified by |
/// |---|---|---|
/// | 0 | A → H1 | doorbell (guest → host) |
/// | 1 | H1 → A | A polls |
/// | 2 | B → H2 | doorbell |
/// | 3 | H2 → B | B polls |
/// | 4 | H1 → H2 | eventfd (host → host) |
/// | 5 | A → B | B polls (guest → guest) |
///
/// `say` gets one line per event.
pub fn two_vms_two_hosts(
    guest_bin: &Path,
    n: u64,
    say: &mut dyn FnMut(String),
) -> Result<(), String> {
    let server = start_server()?;
    say(format!(
        "ivshmem-server listening on {} ({SHM_SIZE} bytes of shared memory, {VECTORS} vectors per peer: 0 rung for data, 1 for space)",
        server.socket().display()
    ));
    let mut me = watch(&server)?;
    let shm = map_shared(&me.client)?;
    ivshmem_ring::create_slots(&shm, &[0, 1, 2, 3, 4, 5])?;
    say(format!(
        "this process joined as peer {} (it watches arrivals and departures); it wrote 6 empty rings ({} KiB each) into the shared memory",
        me.client.id(),
        SLOT_SIZE / 1024
    ));
    let (a_vm, b_vm) = std::thread::scope(|s| {
        let a = s.spawn(|| boot_on(&server, guest_bin, &[]));
        let b = s.spawn(|| boot_on(&server, guest_bin, &[]));
        (
            a.join()
                .unwrap_or_else(|_| Err("boot thread panicked".into())),
            b.join()
                .unwrap_or_else(|_| Err("boot thread panicked".into())),
        )
    });
    let (a_vm, b_vm) = (a_vm?, b_vm?);
    let j1 = me.joined()?;
    let j2 = me.joined()?;
    // Which VM is which peer: ask each guest (IV_POSITION).
    let pos = |vm: &Vm| -> Result<u16, String> {
        let out = run_guest(vm, "ivshmem-position", Duration::from_secs(60))?;
        out.trim()
            .parse()
            .map_err(|_| format!("cannot read IV_POSITION from {out:?}"))
    };
    let (a, b) = (pos(&a_vm)?, pos(&b_vm)?);
    if !((a, b) == (j1, j2) || (a, b) == (j2, j1)) {
        return Err(format!(
            "the VMs are peers {a} and {b}, but the server announced {j1} and {j2}"
        ));
    }
    say(format!(
        "VM A booted: peer {a} (guest reads IV_POSITION = {a}); VM B booted: peer {b}"
    ));
    let prog = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("vm-guest")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| guest_bin.to_path_buf());
    let h2 = PeerProcess::spawn(
        &prog,
        server.socket(),
        &format!("--recv 2:{n}:{b} --send 3:{n} --recv 4:{n}"),
    )?;
    let h1 = PeerProcess::spawn(
        &prog,
        server.socket(),
        &format!("--recv 0:{n}:{a} --send 1:{n} --send 4:{n}:{}", h2.id),
    )?;
    say(format!(
        "host process H2 joined: peer {}; H1 joined: peer {}",
        h2.id, h1.id
    ));
    for who in [h2.id, h1.id] {
        let p = me.joined()?;
        if p != who {
            return Err(format!("expected peer {who} to join, got {p}"));
        }
    }
    say(format!(
        "streams of {n} messages (16 to 1024 bytes; each with its sequence number and a checksum):"
    ));
    say("  ring 0: A -> H1, A rings H1's doorbell    ring 1: H1 -> A, A polls".to_string());
    say("  ring 2: B -> H2, B rings H2's doorbell    ring 3: H2 -> B, B polls".to_string());
    say("  ring 4: H1 -> H2, H1 writes H2's eventfd   ring 5: A -> B, B polls".to_string());
    say("  a receiver that drains a ring rings its sender's vector 1 (space), so host senders sleep on a full ring too (H2 started before H1 and does not know its ID: H1 retries a full ring 4 every 100 ms)".to_string());
    let progress = (n / 2).max(1);
    let (ra, rb) = std::thread::scope(|s| {
        let ta = s.spawn(|| {
            guest_peer(
                &a_vm,
                a,
                &format!(
                    "--send 0:{n}:{h1} --recv 1:{n}:{h1} --send 5:{n} --progress {progress}",
                    h1 = h1.id
                ),
            )
        });
        let tb = s.spawn(|| {
            guest_peer(
                &b_vm,
                b,
                &format!(
                    "--send 2:{n}:{h2} --recv 3:{n}:{h2} --recv 5:{n} --progress {progress}",
                    h2 = h2.id
                ),
            )
        });
        (
            ta.join().unwrap_or_else(|_| Err("thread panicked".into())),
            tb.join().unwrap_or_else(|_| Err("thread panicked".into())),
        )
    });
    let ra = ra.map_err(|e| format!("VM A: {e}"))?;
    let rb = rb.map_err(|e| format!("VM B: {e}"))?;
    for (name, out) in [("VM A", &ra), ("VM B", &rb)] {
        for l in out.lines().skip(1) {
            say(format!("{name}: {l}"));
        }
    }
    let h1_id = h1.id;
    for (name, p) in [("H1", h1), ("H2", h2)] {
        let lines = p.finish(Duration::from_secs(120))?;
        say(format!(
            "{name}: {}",
            lines.last().cloned().unwrap_or_default()
        ));
    }
    drop((a_vm, b_vm, h1_id));
    drop(me);
    // The server's own log (verbose: one line per arrival and departure).
    std::thread::sleep(Duration::from_millis(200));
    for l in server.output().lines() {
        say(format!("server: {l}"));
    }
    server.stop().map_err(|e| e.to_string())?;
    say(
        "every message arrived once, in order, intact; the server stopped and removed its socket"
            .into(),
    );
    Ok(())
}

/// `ivshmem_peer_killed_is_reported_and_survivors_continue`: host peer H1
/// streams into the test process (ring 2) and is killed mid-stream; the
/// test process and H2 see it leave, the server frees its descriptors,
/// VM A and H2 (rings 0 and 1) keep exchanging, and H1 started again gets
/// a fresh ID and streams to H2 (ring 3).
pub fn peer_killed(guest_bin: &Path, n: u64) -> Result<Vec<String>, String> {
    let mut log = Vec::new();
    let server = start_server()?;
    let server_pid = server.pid().ok_or("the server has no pid")?;
    let mut me = watch(&server)?;
    let shm = map_shared(&me.client)?;
    ivshmem_ring::create_slots(&shm, &[0, 1, 2, 3])?;
    let vm = boot_on(&server, guest_bin, &[])?;
    let a = me.joined()?;
    let prog = guest_bin;
    let m = 500;
    let mut h2 = PeerProcess::spawn(
        prog,
        server.socket(),
        &format!(
            "--recv 0:{n}:{a} --send 1:{n} --recv 3:{m} --progress {}",
            n / 4
        ),
    )?;
    me.joined()?;
    std::thread::sleep(Duration::from_millis(200));
    let fds_before = fd_count(server_pid)?;
    let h1 = PeerProcess::spawn(prog, server.socket(), "--send 2:100000000")?;
    let old = h1.id;
    if me.joined()? != old {
        return Err("H1's arrival was not announced".into());
    }
    let fds_with = fd_count(server_pid)?;
    log.push(format!("VM A is peer {a}, H2 peer {}, H1 peer {old}; server fds {fds_before} -> {fds_with} with H1", h2.id));

    std::thread::scope(|s| -> Result<(), String> {
        let guest_args = format!("--send 0:{n}:{h2} --recv 1:{n}:{h2}", h2 = h2.id);
        let vm = &vm;
        let guest = s.spawn(move || guest_peer(vm, a, &guest_args));
        // Read H1's stream, checked, then kill H1 in the middle of it.
        let mut cons =
            shm_ring::Consumer::attach(&shm, 2 * SLOT_SIZE).map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        let mut got = 0u64;
        let deadline = Instant::now() + Duration::from_secs(60);
        while got < 300 {
            if cons.try_recv(&mut buf).map_err(|e| e.to_string())? {
                ivshmem_ring::check_message(2, got, &buf)?;
                got += 1;
            } else if Instant::now() > deadline {
                return Err(format!("only {got} messages from H1 within 60 s"));
            }
        }
        // Kill H1 while VM A and H2 are in the middle of their streams.
        let quarter = format!("ring 0: received {}/{n}", n / 4);
        let seen = h2.wait_line(&quarter, Duration::from_secs(120))?;
        if seen
            .iter()
            .any(|l| l.starts_with(&format!("ring 0: received {n}/")))
        {
            return Err("VM A's stream to H2 ended before H1 was killed: not mid-stream".into());
        }
        h1.kill()?;
        log.push(format!(
            "received {got} messages from H1; H2 says `{quarter}`; H1 killed (SIGKILL)"
        ));
        match me.next_event()? {
            PeerEvent::Left(p) if p == old => log.push(format!("test process: peer {old} left")),
            other => return Err(format!("expected peer {old} to leave, got {other:?}")),
        }
        // What H1 had sent before it died is still intact and in order.
        while cons.try_recv(&mut buf).map_err(|e| e.to_string())? {
            ivshmem_ring::check_message(2, got, &buf)?;
            got += 1;
        }
        log.push(format!(
            "{got} messages from H1 in all, every one intact and in order"
        ));
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let now = fd_count(server_pid)?;
            if now == fds_before {
                log.push(format!(
                    "server fds back to {now}: H1's socket and eventfd closed"
                ));
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the server holds {now} fds, {fds_before} before H1 came"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let h1b = PeerProcess::spawn(prog, server.socket(), &format!("--send 3:{m}:{}", h2.id))?;
        if h1b.id == old || h1b.id == a || h1b.id == h2.id || h1b.id == me.client.id() {
            return Err(format!(
                "the rejoining peer got ID {}, which is not fresh",
                h1b.id
            ));
        }
        if me.joined()? != h1b.id {
            return Err("the new H1 was not announced".into());
        }
        let id = h1b.id;
        let out = h1b.finish(Duration::from_secs(120))?;
        log.push(format!(
            "H1 again: peer {id}: {}",
            out.last().cloned().unwrap_or_default()
        ));
        let g = guest
            .join()
            .unwrap_or_else(|_| Err("thread panicked".into()))?;
        log.push(format!("VM A: {}", g.lines().last().unwrap_or_default()));
        Ok(())
    })?;
    let lines = h2.finish(Duration::from_secs(120))?;
    let want = format!("event: peer {old} left");
    if !lines.contains(&want) {
        return Err(format!("H2 did not report `{want}`: {lines:?}"));
    }
    log.push(format!(
        "H2 saw peer {old} leave and finished: {}",
        lines.last().cloned().unwrap_or_default()
    ));
    drop(vm);
    drop(me);
    server.stop().map_err(|e| e.to_string())?;
    Ok(log)
}
