//! "Did you mean" suggestions for names typed on the command line.

/// Optimal-string-alignment distance (Levenshtein plus adjacent
/// transpositions), case-insensitive, in characters.
pub fn distance(a: &str, b: &str) -> usize {
    register_spec::names::edit_distance(&a.to_ascii_lowercase(), &b.to_ascii_lowercase())
}

/// Up to three candidates close to `word`, closest first: within one edit
/// per three characters (at least two), or sharing a prefix or substring
/// of three characters or more, or differing only in case.
pub fn near<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    if word.chars().count() > 64 {
        return Vec::new();
    }
    let lower = word.to_ascii_lowercase();
    let limit = (word.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &'a str)> = Vec::new();
    for c in candidates {
        let cl = c.to_ascii_lowercase();
        let d = distance(&lower, &cl);
        let related = lower.len() >= 3 && (cl.contains(&lower) || lower.contains(&cl));
        if (d <= limit || related) && !scored.iter().any(|(_, s)| *s == c) {
            scored.push((if related { d.min(limit) } else { d }, c));
        }
    }
    scored.sort_by_key(|&(d, _)| d);
    scored.into_iter().take(3).map(|(_, c)| c).collect()
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
