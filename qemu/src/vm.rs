//! [`Vm`]: a booted QEMU guest and its command channel.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::VmConfig;
use crate::error::{Result, VmError};
use crate::initramfs;
use crate::process::{ExitInfo, QemuProcess, Resources};
use crate::protocol::{self, Parsed};
use crate::provision::{self, Provisioned};

/// Extra time the host waits beyond a command's timeout (the guest agent
/// kills the command at the timeout; the host only gives up when the guest
/// does not answer at all).
const HOST_GRACE: Duration = Duration::from_secs(15);
/// Timeouts are clamped to 30 days.
const MAX_TIMEOUT_SECS: u64 = 30 * 24 * 3600;
/// How many lines of logs go into error messages.
const TAIL_LINES: usize = 40;

/// The result of a guest command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdOutput {
    /// Exit status (128 + N if the command was killed by signal N).
    pub status: i32,
    /// stdout and stderr, merged, decoded as UTF-8 (invalid bytes replaced).
    pub output: String,
    /// The same output, byte for byte.
    pub bytes: Vec<u8>,
    /// Wall-clock time of the round trip.
    pub duration: Duration,
}

impl CmdOutput {
    /// True if the status is 0.
    pub fn success(&self) -> bool {
        self.status == 0
    }
}

/// A command started in the background with [`Vm::spawn`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestJob {
    /// Its guest pid (also its process-group and session id).
    pub pid: u32,
    /// The guest file receiving its stdout and stderr.
    pub log_path: String,
}

struct Channel {
    stream: UnixStream,
    buf: Vec<u8>,
    next_id: u64,
    next_job: u64,
    /// Why the VM is unusable, once it is.
    dead: Option<String>,
}

/// A running VM. Dropping it kills QEMU and removes the ivshmem backing
/// file and the work directory (a VM kept in a `static` is cleaned up at
/// process exit instead; QEMU also gets SIGKILL if the test process dies).
///
/// `Vm` is `Send + Sync`: share one VM between tests (e.g. in a
/// `std::sync::OnceLock`); commands from several threads are serialised.
pub struct Vm {
    chan: Mutex<Channel>,
    qemu: Arc<QemuProcess>,
    res: Resources,
    ivshmem_size: Option<u64>,
    doorbell: Option<crate::config::Doorbell>,
    boot_time: Duration,
    edu_bdf: Option<String>,
    ivshmem_bdf: Option<String>,
    kernel_release: String,
    qemu_command: Vec<String>,
}

impl std::fmt::Debug for Vm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vm")
            .field("pid", &self.qemu.pid())
            .field("dir", &self.res.dir)
            .field("shm", &self.res.shm)
            .field("boot_time", &self.boot_time)
            .field("edu_bdf", &self.edu_bdf)
            .field("ivshmem_bdf", &self.ivshmem_bdf)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The last `n` lines of a text.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].join("\n")
}

fn read_lossy(p: &Path) -> String {
    fs::read(p)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Classifies the end of a VM from QEMU's exit, its stderr and stdout, and
/// the guest console.
pub fn classify_exit(exit: Option<ExitInfo>, stderr: &str, stdout: &str, console: &str) -> VmError {
    let hardware_error = [stderr, stdout, console]
        .iter()
        .flat_map(|t| t.lines())
        .find(|l| l.contains("hardware error"))
        .map(|l| l.trim().to_string());
    let panic_line = console
        .lines()
        .find(|l| l.contains("Kernel panic"))
        .map(|l| l.trim().to_string());
    let stderr_tail = tail(stderr, TAIL_LINES);
    let console_tail = tail(console, TAIL_LINES);
    let signal = exit.and_then(|e| e.signal);
    let exit_code = exit.and_then(|e| e.code);
    if signal.is_some() || hardware_error.is_some() {
        return VmError::QemuCrashed {
            signal,
            exit_code,
            hardware_error,
            stderr_tail,
            console_tail,
        };
    }
    if let Some(panic_line) = panic_line {
        return VmError::KernelPanic {
            panic_line,
            console_tail,
        };
    }
    VmError::QemuExited {
        exit_code,
        stderr_tail,
        console_tail,
    }
}

/// Paths used on the QEMU command line.
#[derive(Debug, Clone)]
pub struct QemuPaths {
    /// The kernel image.
    pub kernel: PathBuf,
    /// The initramfs.
    pub initrd: PathBuf,
    /// The console (ttyS0) log file.
    pub console: PathBuf,
    /// The command channel socket (ttyS1); QEMU connects to it.
    pub socket: PathBuf,
    /// The ivshmem backing file.
    pub shm: Option<PathBuf>,
}

/// The QEMU command line (without the program name).
pub fn qemu_args(config: &VmConfig, paths: &QemuPaths) -> Vec<String> {
    let mut append = vec!["console=ttyS0", "panic=-1", "quiet"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    if config.vfio {
        append.push("intel_iommu=on".into());
        // With interrupt remapping on, a boot-time timer check that misses
        // its ticks (TCG on a loaded host) panics the kernel ("timer
        // doesn't work through Interrupt-remapped IO-APIC") instead of
        // falling back; skip that check.
        append.push("no_timer_check".into());
    }
    append.extend(config.kernel_args.iter().cloned());
    let mut a: Vec<String> = Vec::new();
    let mut push = |s: &[&str]| a.extend(s.iter().map(|x| x.to_string()));
    push(&["-accel", "tcg"]);
    push(&["-M", if config.vfio { "q35" } else { "pc" }]);
    push(&["-m", &format!("{}M", config.memory_mib)]);
    push(&[
        "-smp",
        "1",
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
    ]);
    push(&["-no-reboot"]);
    push(&["-kernel", &paths.kernel.display().to_string()]);
    push(&["-initrd", &paths.initrd.display().to_string()]);
    push(&["-append", &append.join(" ")]);
    push(&[
        "-chardev",
        &format!("file,id=vmhcon,path={}", paths.console.display()),
        "-serial",
        "chardev:vmhcon",
    ]);
    push(&[
        "-chardev",
        &format!("socket,id=vmhcmd,path={}", paths.socket.display()),
        "-serial",
        "chardev:vmhcmd",
    ]);
    if config.vfio {
        push(&["-device", "intel-iommu,intremap=on"]);
    }
    if config.edu {
        push(&["-device", "edu,dma_mask=0xffffffffffffffff"]);
    }
    if let (Some(size), Some(shm)) = (config.ivshmem_size, &paths.shm) {
        push(&[
            "-object",
            &format!(
                "memory-backend-file,id=vmhshm,size={size},share=on,mem-path={}",
                shm.display()
            ),
            "-device",
            "ivshmem-plain,memdev=vmhshm",
        ]);
    }
    if let Some(d) = &config.doorbell {
        let socket = crate::config::qemu_opt_value(&d.socket.to_string_lossy());
        push(&[
            "-chardev",
            &format!("socket,path={socket},id=vmhivsrv"),
            "-device",
            &format!("ivshmem-doorbell,chardev=vmhivsrv,vectors={}", d.vectors),
        ]);
    }
    a.extend(config.qemu_args.iter().cloned());
    a
}

/// Parses the device listing produced at boot: `BDF vendor device` lines.
pub fn find_bdf(listing: &str, vendor: &str, device: &str) -> Option<String> {
    listing.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() == 3 && f[1] == vendor && f[2] == device).then(|| f[0].to_string())
    })
}

impl Vm {
    /// Provisions what is missing (see [`provision::ensure`]), builds the
    /// initramfs, starts QEMU and waits until the guest agent answers.
    pub fn boot(config: VmConfig) -> Result<Vm> {
        config.validate().map_err(VmError::Config)?;
        let prov = provision::ensure()?;
        Self::boot_with(config, prov)
    }

    /// [`Vm::boot`] with explicit provisioning results.
    pub fn boot_with(config: VmConfig, prov: &Provisioned) -> Result<Vm> {
        config.validate().map_err(VmError::Config)?;
        let start = Instant::now();
        crate::process::sweep_stale();
        let res = Resources::new(config.ivshmem_size.is_some(), config.keep_dir)
            .map_err(|e| VmError::io("creating the VM work directory", e))?;
        let dir = res.dir.clone();

        if let (Some(size), Some(shm)) = (config.ivshmem_size, &res.shm) {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(shm)
                .map_err(|e| VmError::io_path("creating", shm, e))?;
            f.set_len(size)
                .map_err(|e| VmError::io_path("sizing", shm, e))?;
        }

        let initrd = dir.join("initramfs.cpio");
        let image = initramfs::build(&config, prov)?;
        fs::write(&initrd, image).map_err(|e| VmError::io_path("writing", &initrd, e))?;

        let paths = QemuPaths {
            kernel: prov.kernel.boot_image.clone(),
            initrd,
            console: dir.join("console.log"),
            socket: dir.join("cmd.sock"),
            shm: res.shm.clone(),
        };
        let listener = UnixListener::bind(&paths.socket)
            .map_err(|e| VmError::io_path("binding", &paths.socket, e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| VmError::io("set_nonblocking", e))?;

        let args = qemu_args(&config, &paths);
        let mut cmd = Command::new(&prov.qemu);
        let stdout = fs::File::create(dir.join("qemu.stdout"))
            .map_err(|e| VmError::io("creating qemu.stdout", e))?;
        let stderr = fs::File::create(dir.join("qemu.stderr"))
            .map_err(|e| VmError::io("creating qemu.stderr", e))?;
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr))
            .current_dir(&dir);
        let qemu = QemuProcess::spawn(cmd)
            .map_err(|e| VmError::io(format!("starting {}", prov.qemu.display()), e))?;
        res.attach(&qemu);
        let mut qemu_command = vec![prov.qemu.display().to_string()];
        qemu_command.extend(args);

        // QEMU connects to our socket while it starts up.
        let deadline = start
            + config
                .boot_timeout
                .min(Duration::from_secs(MAX_TIMEOUT_SECS));
        let stream = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if let Some(exit) = qemu.exited() {
                        return Err(Self::classify_in(&dir, Some(exit)));
                    }
                    if Instant::now() >= deadline {
                        qemu.kill_and_wait();
                        return Err(Self::timeout_in(
                            &dir,
                            "waiting for QEMU to connect the command channel",
                            config.boot_timeout,
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(VmError::io("accepting the command channel", e)),
            }
        };
        drop(listener);
        stream
            .set_nonblocking(false)
            .map_err(|e| VmError::io("set_nonblocking", e))?;

        let mut vm = Vm {
            chan: Mutex::new(Channel {
                stream,
                buf: Vec::new(),
                next_id: 1,
                next_job: 1,
                dead: None,
            }),
            qemu,
            res,
            ivshmem_size: config.ivshmem_size,
            doorbell: config.doorbell.clone(),
            boot_time: Duration::ZERO,
            edu_bdf: None,
            ivshmem_bdf: None,
            kernel_release: prov.kernel.release.clone(),
            qemu_command,
        };

        // Wait for the agent.
        let setup_rc = {
            let mut ch = lock(&vm.chan);
            loop {
                match protocol::parse_ready(&ch.buf).map_err(VmError::Protocol)? {
                    Parsed::Done { item, consumed } => {
                        ch.buf.drain(..consumed);
                        break item;
                    }
                    Parsed::Incomplete => {
                        vm.fill(&mut ch, deadline, "booting", config.boot_timeout)?;
                    }
                }
            }
        };
        if setup_rc != 0 {
            let log = vm
                .run(
                    &format!("cat {}", initramfs::SETUP_LOG),
                    Duration::from_secs(10),
                )
                .map(|o| o.output)
                .unwrap_or_default();
            return Err(VmError::GuestSetup {
                status: setup_rc,
                log,
                console_tail: tail(&vm.console_log(), TAIL_LINES),
            });
        }

        // The first command: find the devices.
        let listing = vm.run(
            r#"for d in /sys/bus/pci/devices/*; do echo "${d##*/} $(cat $d/vendor) $(cat $d/device)"; done"#,
            Duration::from_secs(20),
        )?;
        vm.boot_time = start.elapsed();
        if config.edu {
            vm.edu_bdf = find_bdf(&listing.output, "0x1234", "0x11e8");
        }
        if config.has_ivshmem() {
            vm.ivshmem_bdf = find_bdf(&listing.output, "0x1af4", "0x1110");
        }
        Ok(vm)
    }

    fn classify_in(dir: &Path, exit: Option<ExitInfo>) -> VmError {
        classify_exit(
            exit,
            &read_lossy(&dir.join("qemu.stderr")),
            &read_lossy(&dir.join("qemu.stdout")),
            &read_lossy(&dir.join("console.log")),
        )
    }

    fn timeout_in(dir: &Path, what: &str, timeout: Duration) -> VmError {
        VmError::Timeout {
            what: what.to_string(),
            timeout,
            stderr_tail: tail(&read_lossy(&dir.join("qemu.stderr")), TAIL_LINES),
            console_tail: tail(&read_lossy(&dir.join("console.log")), TAIL_LINES),
        }
    }

    /// QEMU is gone: find out why, remember it, return the error.
    fn died(&self, ch: &mut Channel) -> VmError {
        let exit = match self.qemu.wait_timeout(Duration::from_secs(5)) {
            Some(e) => Some(e),
            None => self.qemu.kill_and_wait(),
        };
        let e = Self::classify_in(&self.res.dir, exit);
        ch.dead = Some(e.to_string());
        e
    }

    /// Reads more bytes into the buffer (at least one), or fails because
    /// QEMU died or `deadline` passed (then QEMU is killed).
    fn fill(
        &self,
        ch: &mut Channel,
        deadline: Instant,
        what: &str,
        timeout: Duration,
    ) -> Result<()> {
        let mut tmp = vec![0u8; 64 * 1024];
        loop {
            let now = Instant::now();
            if now >= deadline {
                self.qemu.kill_and_wait();
                let e = Self::timeout_in(&self.res.dir, what, timeout);
                ch.dead = Some(format!("timed out while {what}"));
                return Err(e);
            }
            let slice = (deadline - now).min(Duration::from_millis(200));
            ch.stream
                .set_read_timeout(Some(slice))
                .map_err(|e| VmError::io("set_read_timeout", e))?;
            match ch.stream.read(&mut tmp) {
                Ok(0) => return Err(self.died(ch)),
                Ok(n) => {
                    ch.buf.extend_from_slice(&tmp[..n]);
                    return Ok(());
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    if self.qemu.exited().is_some() {
                        return Err(self.died(ch));
                    }
                }
                Err(_) => return Err(self.died(ch)),
            }
        }
    }

    /// Runs a shell command (a `sh` script: several lines, pipes, ... are
    /// fine) in the guest as root, with stdin from /dev/null, stdout and
    /// stderr merged. Returns its exit status and output, whatever the
    /// status; see [`Vm::run_ok`] to treat non-zero as an error.
    ///
    /// At `timeout` (rounded up to whole seconds) the guest kills the
    /// command's whole process group and this returns
    /// [`VmError::CommandTimeout`]; the VM stays usable. If the guest does
    /// not answer at all, QEMU is killed after a further grace period and
    /// [`VmError::Timeout`] is returned. If QEMU crashes or the guest
    /// panics meanwhile, the error says so ([`VmError::QemuCrashed`],
    /// [`VmError::KernelPanic`]).
    pub fn run(&self, command: &str, timeout: Duration) -> Result<CmdOutput> {
        let mut ch = lock(&self.chan);
        if let Some(why) = &ch.dead {
            return Err(VmError::NotRunning(why.clone()));
        }
        let start = Instant::now();
        let id = ch.next_id;
        ch.next_id += 1;
        let secs = timeout
            .as_secs()
            .saturating_add(u64::from(timeout.subsec_nanos() > 0));
        // Clamped so `Instant` arithmetic cannot overflow.
        let secs = secs.clamp(1, MAX_TIMEOUT_SECS);
        let req = protocol::request(id, secs, command);
        if ch.stream.write_all(req.as_bytes()).is_err() {
            return Err(self.died(&mut ch));
        }
        let base_deadline = start + Duration::from_secs(secs) + HOST_GRACE;
        let mut deadline = base_deadline;
        let frame = loop {
            match protocol::parse_frame(&ch.buf, id).map_err(VmError::Protocol)? {
                Parsed::Done { item, consumed } => {
                    ch.buf.drain(..consumed);
                    break item;
                }
                Parsed::Incomplete => {
                    let before = ch.buf.len();
                    self.fill(
                        &mut ch,
                        deadline,
                        &format!("waiting for the guest to answer `{command}`"),
                        timeout,
                    )?;
                    if ch.buf.len() > before {
                        // Output is flowing: give a long transfer more time.
                        deadline = deadline.max(Instant::now() + HOST_GRACE);
                    }
                }
            }
        };
        let output = String::from_utf8_lossy(&frame.data).into_owned();
        if frame.timed_out {
            return Err(VmError::CommandTimeout {
                command: command.to_string(),
                timeout,
                output,
            });
        }
        Ok(CmdOutput {
            status: frame.status,
            output,
            bytes: frame.data,
            duration: start.elapsed(),
        })
    }

    /// [`Vm::run`], but a non-zero status is an error
    /// ([`VmError::CommandFailed`]).
    pub fn run_ok(&self, command: &str, timeout: Duration) -> Result<CmdOutput> {
        let out = self.run(command, timeout)?;
        if out.status != 0 {
            return Err(VmError::CommandFailed {
                command: command.to_string(),
                status: out.status,
                output: out.output,
            });
        }
        Ok(out)
    }

    /// Starts a command in the background, in its own session, with its
    /// output going to a guest log file. It is not subject to a timeout.
    pub fn spawn(&self, command: &str) -> Result<GuestJob> {
        let n = {
            let mut ch = lock(&self.chan);
            let n = ch.next_job;
            ch.next_job += 1;
            n
        };
        let log_path = format!("/run/vmh/job-{n}.log");
        let out = self.run_ok(
            &format!(
                "setsid sh -c {} </dev/null >{log_path} 2>&1 &\necho $!",
                protocol::shell_quote(command)
            ),
            Duration::from_secs(30),
        )?;
        let pid = out
            .output
            .trim()
            .parse()
            .map_err(|_| VmError::Protocol(format!("bad pid from spawn: {:?}", out.output)))?;
        Ok(GuestJob { pid, log_path })
    }

    /// The output a background job has written so far.
    pub fn job_output(&self, job: &GuestJob) -> Result<String> {
        Ok(self
            .run_ok(&format!("cat {}", job.log_path), Duration::from_secs(30))?
            .output)
    }

    /// Whether a background job is still running.
    pub fn job_running(&self, job: &GuestJob) -> Result<bool> {
        Ok(self
            .run(&format!("kill -0 {}", job.pid), Duration::from_secs(30))?
            .success())
    }

    /// Kills a background job's whole process group (SIGKILL).
    pub fn kill_job(&self, job: &GuestJob) -> Result<()> {
        self.run(
            &format!(
                "kill -KILL -{0} 2>/dev/null || kill -KILL {0} 2>/dev/null; true",
                job.pid
            ),
            Duration::from_secs(30),
        )?;
        Ok(())
    }

    /// Time from starting QEMU to the answer of the first guest command.
    pub fn boot_time(&self) -> Duration {
        self.boot_time
    }

    /// The host file backing ivshmem's shared memory (BAR2), if the VM has
    /// ivshmem. Map it with `MAP_SHARED` to share memory with the guest.
    pub fn ivshmem_path(&self) -> Option<&Path> {
        self.res.shm.as_deref()
    }

    /// The ivshmem server socket, if the VM has `ivshmem-doorbell` (see
    /// [`VmConfig::ivshmem_doorbell`]); its memory is the server's, so
    /// [`Vm::ivshmem_path`] is `None` then.
    pub fn ivshmem_socket(&self) -> Option<&Path> {
        self.doorbell.as_ref().map(|d| d.socket.as_path())
    }

    /// The size of the ivshmem-plain shared memory, if the VM has it.
    pub fn ivshmem_size(&self) -> Option<u64> {
        self.ivshmem_size
    }

    /// The guest PCI address of edu (e.g. `0000:00:02.0`), if present.
    pub fn edu_bdf(&self) -> Option<&str> {
        self.edu_bdf.as_deref()
    }

    /// The guest PCI address of ivshmem, if present.
    pub fn ivshmem_bdf(&self) -> Option<&str> {
        self.ivshmem_bdf.as_deref()
    }

    /// The guest kernel release (`uname -r`).
    pub fn kernel_release(&self) -> &str {
        &self.kernel_release
    }

    /// The whole guest console (ttyS0) log so far.
    pub fn console_log(&self) -> String {
        read_lossy(&self.res.dir.join("console.log"))
    }

    /// QEMU's stderr so far.
    pub fn qemu_stderr(&self) -> String {
        read_lossy(&self.res.dir.join("qemu.stderr"))
    }

    /// QEMU's stdout so far (edu prints its DMA clamping warnings there).
    pub fn qemu_stdout(&self) -> String {
        read_lossy(&self.res.dir.join("qemu.stdout"))
    }

    /// The VM's host work directory (console log, QEMU output, initramfs,
    /// socket). Removed on drop unless [`VmConfig::keep_dir`].
    pub fn work_dir(&self) -> &Path {
        &self.res.dir
    }

    /// The full QEMU command line.
    pub fn qemu_command(&self) -> &[String] {
        &self.qemu_command
    }

    /// QEMU's host pid.
    pub fn qemu_pid(&self) -> i32 {
        self.qemu.pid()
    }

    /// Whether QEMU is still running and the VM usable.
    pub fn is_running(&self) -> bool {
        self.qemu.exited().is_none() && lock(&self.chan).dead.is_none()
    }

    /// If QEMU has died (or the VM became unusable), the classified error.
    pub fn check_alive(&self) -> Result<()> {
        let mut ch = lock(&self.chan);
        if self.qemu.exited().is_some() {
            return Err(self.died(&mut ch));
        }
        match &ch.dead {
            Some(why) => Err(VmError::NotRunning(why.clone())),
            None => Ok(()),
        }
    }

    /// Powers the guest off (SIGKILL after 10 s) and cleans up. Returns
    /// the crash error if QEMU had already died abnormally.
    pub fn shutdown(self) -> Result<()> {
        {
            let mut ch = lock(&self.chan);
            if let Some(exit) = self.qemu.exited() {
                if exit.code != Some(0) {
                    return Err(Self::classify_in(&self.res.dir, Some(exit)));
                }
            }
            if ch.dead.is_none() {
                let id = ch.next_id;
                ch.next_id += 1;
                let _ = ch
                    .stream
                    .write_all(protocol::request(id, 10, "poweroff -f").as_bytes());
                ch.dead = Some("shut down".into());
            }
        }
        if self.qemu.wait_timeout(Duration::from_secs(10)).is_none() {
            self.qemu.kill_and_wait();
        }
        Ok(())
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        self.qemu.kill_and_wait();
        // `self.res` is dropped next: removes the shm file and work dir.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify() {
        let abrt = ExitInfo {
            signal: Some(6),
            code: None,
        };
        let e = classify_exit(
            Some(abrt),
            "qemu: hardware error: EDU: DMA range 0x40000-0x40fff out of bounds\nCPU #0:\nRAX=0",
            "",
            "boot...",
        );
        match e {
            VmError::QemuCrashed {
                signal,
                hardware_error,
                ..
            } => {
                assert_eq!(signal, Some(6));
                assert!(hardware_error.unwrap().contains("EDU: DMA range"));
            }
            other => panic!("{other:?}"),
        }
        let e = classify_exit(
            Some(ExitInfo {
                signal: None,
                code: Some(0),
            }),
            "",
            "",
            "[ 1.0] Kernel panic - not syncing: Attempted to kill init!\n",
        );
        assert!(matches!(e, VmError::KernelPanic { .. }), "{e:?}");
        let e = classify_exit(
            Some(ExitInfo {
                signal: None,
                code: Some(1),
            }),
            "qemu-system-x86_64: -device foo: 'foo' is not a valid device model name",
            "",
            "",
        );
        assert!(
            matches!(
                e,
                VmError::QemuExited {
                    exit_code: Some(1),
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("not a valid device model"));
    }

    #[test]
    fn tails() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("", 2), "");
    }

    #[test]
    fn bdfs() {
        let l =
            "0000:00:00.0 0x8086 0x1237\n0000:00:02.0 0x1234 0x11e8\n0000:00:03.0 0x1af4 0x1110\n";
        assert_eq!(
            find_bdf(l, "0x1234", "0x11e8").as_deref(),
            Some("0000:00:02.0")
        );
        assert_eq!(
            find_bdf(l, "0x1af4", "0x1110").as_deref(),
            Some("0000:00:03.0")
        );
        assert_eq!(find_bdf(l, "0x1", "0x2"), None);
    }

    #[test]
    fn command_line() {
        let paths = QemuPaths {
            kernel: "/k".into(),
            initrd: "/i".into(),
            console: "/c".into(),
            socket: "/s".into(),
            shm: Some("/dev/shm/x".into()),
        };
        let a = qemu_args(&VmConfig::default().kernel_arg("foo=1"), &paths).join(" ");
        assert!(a.contains("-accel tcg"));
        assert!(a.contains("-M pc"));
        assert!(a.contains("-m 256M"));
        assert!(a.contains("-device edu,dma_mask=0xffffffffffffffff"));
        assert!(a.contains("size=1048576,share=on,mem-path=/dev/shm/x"));
        assert!(a.contains("ivshmem-plain,memdev=vmhshm"));
        assert!(a.contains("console=ttyS0 panic=-1 quiet foo=1"));
        assert!(!a.contains("kvm"));
        let a = qemu_args(
            &VmConfig::default().edu(false).ivshmem(false).vfio(true),
            &paths,
        )
        .join(" ");
        assert!(!a.contains("edu"));
        assert!(!a.contains("ivshmem"));
        assert!(a.contains("-M q35"));
        assert!(a.contains("intel-iommu,intremap=on"));
        assert!(a.contains("intel_iommu=on"));
        assert!(a.contains("no_timer_check"));
        let paths = QemuPaths { shm: None, ..paths };
        let a = qemu_args(
            &VmConfig::default().ivshmem_doorbell("/run/iv,s.sock", 3),
            &paths,
        )
        .join(" ");
        assert!(
            a.contains("-chardev socket,path=/run/iv,,s.sock,id=vmhivsrv"),
            "{a}"
        );
        assert!(
            a.contains("-device ivshmem-doorbell,chardev=vmhivsrv,vectors=3"),
            "{a}"
        );
        assert!(!a.contains("ivshmem-plain"));
    }
}
