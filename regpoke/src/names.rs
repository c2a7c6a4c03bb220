//! "Did you mean" suggestions for names typed on the command line.

pub use register_spec::names::near;

/// Text the user typed, as a message shows it: quoted, on one line (control
/// characters escaped), and at most 40 characters (cut with `…`), so that
/// a 100 KB argument or one with a newline never floods the terminal or
/// breaks a message in two. The same helper quotes names in register-map
/// errors.
pub struct Shown<'a>(pub &'a str);

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{}\"", register_spec::names::shorten(self.0))
    }
}

/// `" or "`-joined list for a "did you mean" hint: `A`, `A or B`, `A, B or C`.
pub fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// A comma-separated list, shortened to `max` items with a count of the rest.
pub fn short_list<S: AsRef<str>>(items: &[S], max: usize) -> String {
    let shown: Vec<&str> = items.iter().take(max).map(AsRef::as_ref).collect();
    let mut s = shown.join(", ");
    if items.len() > max {
        s.push_str(&format!(", … ({} more)", items.len() - max));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_names() {
        let regs = [
            "ID",
            "LIVENESS",
            "FACTORIAL",
            "STATUS",
            "IRQ_STATUS",
            "IRQ_RAISE",
            "IRQ_ACK",
        ];
        assert_eq!(near("STATSU", regs), vec!["STATUS"]);
        assert_eq!(near("status", regs)[0], "STATUS");
        assert_eq!(near("IRQ_AKC", regs)[0], "IRQ_ACK");
        assert!(near("BOGUSNAME", regs).is_empty());
        assert_eq!(or_list(&["A".into(), "B".into(), "C".into()]), "A, B or C");
        assert_eq!(short_list(&["a", "b", "c"], 2), "a, b, … (1 more)");
    }
}
