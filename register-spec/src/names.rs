//! Names: identifier rules, Rust keywords, and "did you mean" suggestions.

/// Rust's strict and reserved keywords (all editions, including 2024's
/// `gen`). Names become Rust identifiers, so none of these is allowed.
pub const RUST_KEYWORDS: &[&str] = &[
    // Strict.
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", // Reserved.
    "abstract", "become", "box", "do", "final", "gen", "macro", "override", "priv", "try",
    "typeof", "unsized", "virtual", "yield",
];

/// Why a name is not a valid identifier, or `None` if it is one.
///
/// A valid name matches `[A-Za-z_][A-Za-z0-9_]*`, is not `_` alone, and is
/// not a Rust keyword (compared case-sensitively: `TYPE` is fine).
pub fn identifier_problem(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Some("names must not be empty");
    };
    if !(first.is_ascii_alphabetic() || first == '_')
        || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Some(
            "names must start with an ASCII letter or `_` and contain only ASCII letters, digits and `_`",
        );
    }
    if name == "_" {
        return Some("`_` alone is not a name");
    }
    if RUST_KEYWORDS.contains(&name) {
        return Some("it is a Rust keyword");
    }
    None
}

/// Optimal-string-alignment distance (Levenshtein plus adjacent
/// transpositions), counted in characters. Tools use it for "did you mean"
/// hints, so a typo is judged the same way everywhere.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rolling rows: i-2, i-1, i.
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a likely
/// typo: at most one edit per three characters (at least one edit), or
/// `word` is a prefix of the candidate (three characters or more), or they
/// differ only in case.
pub(crate) fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if word.chars().count() > 64 {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for &c in candidates {
        let d = edit_distance(&lower, c);
        let close = d <= limit || (lower.len() >= 3 && c.starts_with(&lower));
        if close && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert_eq!(identifier_problem("STATUS"), None);
        assert_eq!(identifier_problem("_x1"), None);
        assert_eq!(identifier_problem("TYPE"), None);
        assert!(identifier_problem("type").is_some());
        assert!(identifier_problem("Self").is_some());
        assert!(identifier_problem("try").is_some());
        assert!(identifier_problem("_").is_some());
        assert!(identifier_problem("").is_some());
        assert!(identifier_problem("1st").is_some());
        assert!(identifier_problem("a-b").is_some());
        assert!(identifier_problem("é").is_some());
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("acess", "access"), 1);
        assert_eq!(edit_distance("ofset", "offset"), 1);
        assert_eq!(edit_distance("offest", "offset"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions() {
        let keys = ["name", "offset", "access", "description", "reset"];
        assert_eq!(suggest("acess", &keys), Some("access"));
        assert_eq!(suggest("desc", &keys), Some("description"));
        assert_eq!(suggest("Offset", &keys), Some("offset"));
        assert_eq!(suggest("colour", &keys), None);
    }
}
