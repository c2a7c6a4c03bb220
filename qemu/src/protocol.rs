//! The command channel between the host and the guest agent.
//!
//! The channel is the guest's second serial port (`ttyS1`), connected to a
//! UNIX socket on the host. The guest agent (a busybox `sh` loop, see
//! [`AGENT_SCRIPT`]) switches the tty to raw mode, so bytes pass unchanged in
//! both directions.
//!
//! * host → guest, one line per request:
//!   `RUN <id> <timeout-seconds> <base64 of the shell script>\n`.
//!   Base64 keeps newlines, quotes and control characters of the script out
//!   of the line discipline and out of `read`.
//! * guest → host, once per request, after the command finished:
//!   `\n@@VMH BEGIN <id> <length>\n` + exactly `<length>` bytes of output
//!   (stdout and stderr merged) + `\n@@VMH END <id> <status> <timed-out>\n`.
//!   The output is length-prefixed, so binary data, long output, marker-like
//!   text and a missing final newline cannot confuse the framing.
//! * guest → host, once after boot: `\n@@VMH READY <setup status>\n`.

/// The marker that starts every agent line.
pub const MARKER: &str = "@@VMH";

/// The guest agent: reads requests on stdin, answers on stdout. Each command
/// runs in its own session (`setsid`) with stdin from /dev/null; a watchdog
/// kills the whole process group when the timeout expires, so the agent
/// stays responsive after a hung command.
pub const AGENT_SCRIPT: &str = r#"#!/bin/sh
# vm-agent: the harness's command loop on ttyS1 (stdin/stdout).
stty raw -echo 115200 2>/dev/null
D=/run/vmh
mkdir -p $D
printf '\n@@VMH READY %s\n' "${VMH_SETUP_RC:-0}"
while read -r verb id tmo payload; do
  [ "$verb" = RUN ] || continue
  rm -f $D/timedout $D/out
  if ! echo "$payload" | base64 -d > $D/cmd.sh 2>$D/out; then
    printf '\n@@VMH BEGIN %s %s\n' "$id" "$(wc -c < $D/out)"
    cat $D/out
    printf '\n@@VMH END %s 255 0\n' "$id"
    continue
  fi
  setsid sh $D/cmd.sh </dev/null >$D/out 2>&1 &
  pid=$!
  setsid sh -c "sleep $tmo; touch $D/timedout; kill -KILL -$pid || kill -KILL $pid" </dev/null >/dev/null 2>&1 &
  wd=$!
  wait $pid
  rc=$?
  # The watchdog may not have called setsid() yet: then its group does not
  # exist and killing the process itself is enough (it has no child yet).
  kill -KILL -$wd 2>/dev/null || kill -KILL $wd 2>/dev/null
  wait $wd 2>/dev/null
  to=0
  [ -e $D/timedout ] && to=1
  printf '\n@@VMH BEGIN %s %s\n' "$id" "$(wc -c < $D/out)"
  cat $D/out
  printf '\n@@VMH END %s %s %s\n' "$id" "$rc" "$to"
done
"#;

/// Encodes bytes as standard base64 with padding and no line breaks.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The request line for a command.
pub fn request(id: u64, timeout_secs: u64, script: &str) -> String {
    format!("RUN {id} {timeout_secs} {}\n", base64(script.as_bytes()))
}

/// Quotes a string for a POSIX shell (single quotes).
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// One answer of the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The request id.
    pub id: u64,
    /// The command's exit status (128 + signal if it was killed).
    pub status: i32,
    /// Whether the agent's watchdog killed the command.
    pub timed_out: bool,
    /// The output, byte for byte.
    pub data: Vec<u8>,
}

/// What the parser found in the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<T> {
    /// Not enough bytes yet.
    Incomplete,
    /// A complete item; `consumed` bytes of the buffer belong to it (and to
    /// any noise before it).
    Done {
        /// The item.
        item: T,
        /// Bytes to drop from the front of the buffer.
        consumed: usize,
    },
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Finds the next complete line starting with `@@VMH <kind> ` at or after
/// `from`; returns (start of the marker, the fields after the kind, the
/// offset just past the line's `\n`).
fn find_line<'a>(buf: &'a [u8], kind: &str, from: usize) -> Option<(usize, Vec<&'a str>, usize)> {
    let needle = format!("{MARKER} {kind} ");
    let start = find(buf, needle.as_bytes(), from)?;
    let rest = start + needle.len();
    let nl = find(buf, b"\n", rest)?;
    let fields = std::str::from_utf8(&buf[rest..nl])
        .unwrap_or("")
        .split_whitespace()
        .collect();
    Some((start, fields, nl + 1))
}

/// Parses the READY line; returns the setup status.
pub fn parse_ready(buf: &[u8]) -> Result<Parsed<i32>, String> {
    match find_line(buf, "READY", 0) {
        None => Ok(Parsed::Incomplete),
        Some((_, fields, end)) => {
            let rc = fields
                .first()
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| format!("bad READY line: {fields:?}"))?;
            Ok(Parsed::Done {
                item: rc,
                consumed: end,
            })
        }
    }
}

/// Parses the answer to request `id`. Answers to older requests (ids below
/// `id`) and anything outside a frame are skipped.
pub fn parse_frame(buf: &[u8], id: u64) -> Result<Parsed<Frame>, String> {
    let mut from = 0;
    loop {
        let Some((_, fields, data_start)) = find_line(buf, "BEGIN", from) else {
            return Ok(Parsed::Incomplete);
        };
        let (fid, len) = match (fields.first(), fields.get(1)) {
            (Some(a), Some(b)) => (
                a.parse::<u64>()
                    .map_err(|_| format!("bad frame id {a:?}"))?,
                b.parse::<usize>()
                    .map_err(|_| format!("bad frame length {b:?}"))?,
            ),
            _ => return Err(format!("bad BEGIN line: {fields:?}")),
        };
        let data_end = data_start + len;
        if buf.len() < data_end {
            return Ok(Parsed::Incomplete);
        }
        let Some((end_start, end_fields, end)) = find_line(buf, "END", data_end) else {
            return Ok(Parsed::Incomplete);
        };
        // Between the data and the END marker there must be exactly the "\n"
        // the agent prints.
        if &buf[data_end..end_start] != b"\n" {
            return Err(format!(
                "frame {fid}: {} unexpected bytes between data and END",
                end_start - data_end
            ));
        }
        let (eid, status, to) = match (end_fields.first(), end_fields.get(1), end_fields.get(2)) {
            (Some(a), Some(b), Some(c)) => (
                a.parse::<u64>().map_err(|_| format!("bad END id {a:?}"))?,
                b.parse::<i32>()
                    .map_err(|_| format!("bad exit status {b:?}"))?,
                *c == "1",
            ),
            _ => return Err(format!("bad END line: {end_fields:?}")),
        };
        if eid != fid {
            return Err(format!("frame {fid} ended with END {eid}"));
        }
        if fid < id {
            from = end;
            continue;
        }
        if fid > id {
            return Err(format!("got answer {fid} while waiting for {id}"));
        }
        return Ok(Parsed::Done {
            item: Frame {
                id,
                status,
                timed_out: to,
                data: buf[data_start..data_end].to_vec(),
            },
            consumed: end,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(id: u64, data: &[u8], status: i32, to: bool) -> Vec<u8> {
        let mut v = format!("\n@@VMH BEGIN {id} {}\n", data.len()).into_bytes();
        v.extend_from_slice(data);
        v.extend_from_slice(format!("\n@@VMH END {id} {status} {}\n", u8::from(to)).as_bytes());
        v
    }

    #[test]
    fn base64_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert_eq!(base64(b"fooba"), "Zm9vYmE=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn request_line() {
        let r = request(7, 30, "echo 'a b'\nexit 3");
        assert!(r.starts_with("RUN 7 30 "));
        assert!(r.ends_with('\n'));
        assert_eq!(r.matches('\n').count(), 1);
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn simple_frame() {
        let mut buf = b"noise".to_vec();
        buf.extend(frame(1, b"hello\n", 0, false));
        let Parsed::Done { item, consumed } = parse_frame(&buf, 1).unwrap() else {
            panic!("incomplete");
        };
        assert_eq!(item.data, b"hello\n");
        assert_eq!(item.status, 0);
        assert_eq!(consumed, buf.len());
    }

    #[test]
    fn binary_and_no_trailing_newline() {
        let data: Vec<u8> = (0..=255u8)
            .chain(b"\n@@VMH END 2 0 0\n".iter().copied())
            .chain(*b"tail")
            .collect();
        let buf = frame(2, &data, 3, false);
        let Parsed::Done { item, .. } = parse_frame(&buf, 2).unwrap() else {
            panic!("incomplete");
        };
        assert_eq!(item.data, data);
        assert_eq!(item.status, 3);
    }

    #[test]
    fn incremental() {
        let buf = frame(5, &vec![b'x'; 100_000], 0, true);
        for cut in [0, 1, 10, 30, 50_000, buf.len() - 5, buf.len() - 1] {
            assert_eq!(
                parse_frame(&buf[..cut], 5).unwrap(),
                Parsed::Incomplete,
                "cut {cut}"
            );
        }
        let Parsed::Done { item, .. } = parse_frame(&buf, 5).unwrap() else {
            panic!("incomplete");
        };
        assert!(item.timed_out);
        assert_eq!(item.data.len(), 100_000);
    }

    #[test]
    fn skips_old_frames() {
        let mut buf = frame(3, b"old", 0, false);
        buf.extend(frame(4, b"new", 1, false));
        let Parsed::Done { item, consumed } = parse_frame(&buf, 4).unwrap() else {
            panic!("incomplete");
        };
        assert_eq!(item.data, b"new");
        assert_eq!(consumed, buf.len());
        assert!(parse_frame(&frame(9, b"", 0, false), 4).is_err());
    }

    #[test]
    fn empty_output() {
        let buf = frame(1, b"", 0, false);
        let Parsed::Done { item, .. } = parse_frame(&buf, 1).unwrap() else {
            panic!("incomplete");
        };
        assert!(item.data.is_empty());
    }

    #[test]
    fn corrupted_frame() {
        let mut buf = frame(1, b"abc", 0, false);
        // Length says 3 but 4 bytes follow before END.
        buf.splice(18..18, *b"Z");
        assert!(parse_frame(&buf, 1).is_err());
        assert!(parse_frame(b"\n@@VMH BEGIN x 3\n", 1).is_err());
    }

    #[test]
    fn ready() {
        assert_eq!(parse_ready(b"\n@@VMH REA").unwrap(), Parsed::Incomplete);
        assert_eq!(
            parse_ready(b"junk\n@@VMH READY 0\n").unwrap(),
            Parsed::Done {
                item: 0,
                consumed: 19
            }
        );
        assert!(parse_ready(b"@@VMH READY x\n").is_err());
    }
}
