//! A short edu driver session (identification, liveness, factorial
//! polled) written once, generic over [`Io`]: the guest runs it on the
//! real device through an [`io_trace::Recorder`], and the host replays the
//! recorded trace against the same function (`tests/vm.rs` and the
//! committed fixture `tests/fixtures/edu-session.mmiotrace`).
//!
//! The VM case `trace_recorded_in_vm_replays_on_host` keeps the trace it
//! received in `target/tmp/edu-session.mmiotrace`; to refresh the fixture
//! (after changing the session), copy that file over it.

use std::time::Duration;

use device_specs::edu::{self, regs::STATUS};
use hal_core::prelude::*;
use hal_core::Io;

/// The factorial the recorded session computes.
pub const SESSION_FACTORIAL: u32 = 10;

/// The LIVENESS values the session writes (edu reads back their inverse).
pub const SESSION_LIVENESS: [u32; 2] = [0x1234_5678, 0xdead_beef];

/// Polls of STATUS after which the session gives up on the factorial.
pub const MAX_POLLS: u32 = 100_000;

/// Marks the start of the trace in `vm-guest edu-trace`'s output.
pub const TRACE_BEGIN: &str = "--- edu session trace ---";
/// Marks its end.
pub const TRACE_END: &str = "--- end of trace ---";

/// The session: ID (one read, decoded), LIVENESS written and read back for
/// each of [`SESSION_LIVENESS`], STATUS.IRQFACT cleared (a
/// read-modify-write), FACTORIAL = `n`, STATUS.COMPUTING polled with
/// `pause` between polls, FACTORIAL read and checked. The accesses depend
/// only on the values read, so a replay of a recording takes the same path.
pub fn edu_session<I: Io>(io: &I, n: u32, pause: Duration) -> Result<String, String> {
    let regs = edu::Regs::new(io).map_err(|e| e.to_string())?;
    let id = regs.id().get();
    let (major, minor, magic) = (id >> 24, (id >> 16) & 0xff, id & 0xff);
    if magic != 0xed {
        return Err(format!(
            "ID reads {id:#010x}: not an edu (magic {magic:#x}, expected 0xed)"
        ));
    }
    for v in SESSION_LIVENESS {
        regs.liveness().set(v);
        let got = regs.liveness().get();
        if got != !v {
            return Err(format!(
                "LIVENESS: wrote {v:#x}, read {got:#x}, expected {:#x}",
                !v
            ));
        }
    }
    regs.status().modify(STATUS::IRQFACT::CLEAR);
    regs.factorial().set(n);
    let mut polls = 0;
    while regs.status().is_set(STATUS::COMPUTING) {
        polls += 1;
        if polls >= MAX_POLLS {
            return Err(format!(
                "factorial of {n}: COMPUTING still set after {polls} polls"
            ));
        }
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
    let want = (1..=n).fold(1u32, |a, i| a.wrapping_mul(i));
    let got = regs.factorial().get();
    if got != want {
        return Err(format!("factorial of {n}: read {got}, expected {want}"));
    }
    Ok(format!(
        "edu {major}.{minor}: LIVENESS inverted twice; {n}! = {got} after {polls} COMPUTING polls"
    ))
}

/// `vm-guest edu-trace`: the session on the real edu (BAR0 over UIO)
/// through a [`Recorder`](io_trace::Recorder) whose trace states BAR0's
/// physical address; the report is followed by the trace between
/// [`TRACE_BEGIN`] and [`TRACE_END`].
pub fn edu_trace() -> crate::guest::Outcome {
    use io_trace::{RecordOptions, Recorder};
    let pci = pci_sysfs::PciDevice::find_by_id(crate::EDU_ID.0, crate::EDU_ID.1)
        .map_err(|e| e.to_string())?;
    let bar0 = pci.bar(0).ok_or("edu has no BAR0")?.start;
    let region = crate::guest::map_bar(crate::EDU_IDS, 0, crate::guest::Backend::Uio)?;
    let options = RecordOptions {
        phys_base: bar0,
        ..RecordOptions::default()
    };
    let rec = Recorder::new(region, Vec::new(), options).map_err(|e| e.to_string())?;
    rec.mark("edu session: identification, liveness, factorial polled");
    let report = edu_session(&rec, SESSION_FACTORIAL, Duration::from_micros(200))?;
    let (_, trace) = rec.finish().map_err(|e| e.to_string())?;
    let trace = String::from_utf8(trace).map_err(|e| e.to_string())?;
    Ok(format!("{report}\n{TRACE_BEGIN}\n{trace}{TRACE_END}"))
}

/// The trace between [`TRACE_BEGIN`] and [`TRACE_END`] in `output`.
pub fn trace_in_output(output: &str) -> Result<&str, String> {
    let start = output
        .find(TRACE_BEGIN)
        .ok_or_else(|| format!("no `{TRACE_BEGIN}` line in the guest's output:\n{output}"))?;
    let rest = &output[start + TRACE_BEGIN.len()..];
    let end = rest
        .find(TRACE_END)
        .ok_or_else(|| format!("no `{TRACE_END}` line in the guest's output"))?;
    Ok(rest[..end].trim_start_matches(['\r', '\n']))
}

#[cfg(test)]
mod tests {
    use super::*;
    use device_specs::models::EduModel;
    use hal_core::fake::ModelIo;
    use io_trace::{MapSelect, RecordOptions, Recorder, Replay, ReplayError};

    fn recorded() -> String {
        let io = ModelIo::with(EduModel::new()).with_base(0xfea0_0000);
        let opts = RecordOptions {
            phys_base: 0xfea0_0000,
            ..RecordOptions::default()
        };
        let rec = Recorder::new(io, Vec::new(), opts).unwrap();
        edu_session(&rec, SESSION_FACTORIAL, Duration::ZERO).unwrap();
        String::from_utf8(rec.finish().unwrap().1).unwrap()
    }

    #[test]
    fn a_session_on_the_model_replays_and_a_changed_step_diverges() {
        let text = recorded();
        let r = Replay::parse(&text, MapSelect::Phys(0xfea0_0000), "model").unwrap();
        // 1 ID, 2 × (write, read) LIVENESS, RMW of STATUS, FACTORIAL,
        // 3 busy polls + 1 idle (the model's default), FACTORIAL.
        assert_eq!(r.expected().len(), 1 + 4 + 2 + 1 + 4 + 1);
        let report = edu_session(&r, SESSION_FACTORIAL, Duration::ZERO).unwrap();
        assert!(
            report.ends_with("10! = 3628800 after 3 COMPUTING polls"),
            "{report}"
        );
        r.finish().unwrap();

        let r = Replay::parse(&text, MapSelect::Only, "model").unwrap();
        assert!(edu_session(&r, SESSION_FACTORIAL + 1, Duration::ZERO).is_err());
        match r.finish() {
            Err(ReplayError::Diverged(d)) => {
                assert_eq!(d.index, 7);
                assert_eq!(d.expected.unwrap().access.value, 10);
                assert_eq!(d.actual.value, 11);
            }
            other => panic!("expected a divergence, got {other:?}"),
        }
    }

    #[test]
    fn the_trace_is_found_between_its_markers() {
        let out = format!("report\n{TRACE_BEGIN}\nVERSION 20070824\n{TRACE_END}\n");
        assert_eq!(trace_in_output(&out).unwrap(), "VERSION 20070824\n");
        assert!(trace_in_output("nothing").is_err());
    }
}
