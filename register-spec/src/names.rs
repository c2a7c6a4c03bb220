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
/// transpositions), counted in characters (strsim's `osa_distance`). Tools
/// use it for "did you mean" hints, so a typo is judged the same way
/// everywhere.
pub fn edit_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

/// The one "did you mean" policy of the project (register maps and the
/// command line): up to three candidates close to `word`, closest first.
/// Close means, ignoring ASCII case: within one edit per three characters
/// (at least two), or one contains the other (three characters or more).
/// Words over 64 characters get no suggestion.
pub fn near<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    if word.chars().count() > 64 {
        return Vec::new();
    }
    let lower = word.to_ascii_lowercase();
    let limit = (word.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &'a str)> = Vec::new();
    for c in candidates {
        let cl = c.to_ascii_lowercase();
        let d = edit_distance(&lower, &cl);
        let related = lower.len() >= 3 && (cl.contains(&lower) || lower.contains(&cl));
        if (d <= limit || related) && !scored.iter().any(|(_, s)| *s == c) {
            scored.push((if related { d.min(limit) } else { d }, c));
        }
    }
    scored.sort_by_key(|&(d, _)| d);
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// `text` as messages quote it: control characters escaped (a newline
/// shows as `\n`), and cut after 40 characters with `…`.
pub fn shorten(text: &str) -> String {
    crate::yaml::shorten(text)
}

/// The closest of [`near`]'s candidates, for one-suggestion messages.
pub(crate) fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    near(word, candidates.iter().copied()).first().copied()
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
