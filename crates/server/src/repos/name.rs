//! Repository names: path-like, such as `example.com/app`.

use crate::Error;
use std::fmt;

/// Longest repository name, in bytes.
pub const MAX_REPO_NAME_BYTES: usize = 255;
/// Most `/`-separated segments in a name.
pub const MAX_REPO_NAME_SEGMENTS: usize = 8;
/// Longest segment.
pub const MAX_SEGMENT_BYTES: usize = 64;

/// Segment names the HTTP routes use after a repository name; reserved so a route
/// never reads two ways.
const RESERVED_SEGMENTS: [&str; 3] = ["metadata", "proof", "keys"];

/// A validated repository name: 1 to [`MAX_REPO_NAME_SEGMENTS`] segments joined by
/// `/`, each 1 to [`MAX_SEGMENT_BYTES`] bytes of lower-case ASCII letters, digits,
/// `.`, `_` and `-`, starting with a letter or digit, and none of them `metadata`,
/// `proof` or `keys`.
///
/// Lower case only, as container registries do, so two names never differ by case
/// alone; no `.` or `..` segments, so a name is never a path trick.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName(String);

impl RepoName {
    /// Validates `name`.
    pub fn new(name: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::invalid(format!("repository name {name:?}: {why}"));
        if name.is_empty() || name.len() > MAX_REPO_NAME_BYTES {
            return Err(bad(&format!("must be 1 to {MAX_REPO_NAME_BYTES} bytes")));
        }
        let segments: Vec<&str> = name.split('/').collect();
        if segments.len() > MAX_REPO_NAME_SEGMENTS {
            return Err(bad(&format!("more than {MAX_REPO_NAME_SEGMENTS} segments")));
        }
        for s in segments {
            if s.is_empty() || s.len() > MAX_SEGMENT_BYTES {
                return Err(bad(&format!(
                    "each segment must be 1 to {MAX_SEGMENT_BYTES} bytes"
                )));
            }
            if !s.as_bytes()[0].is_ascii_lowercase() && !s.as_bytes()[0].is_ascii_digit() {
                return Err(bad(
                    "each segment must start with a lower-case letter or digit",
                ));
            }
            if !s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            }) {
                return Err(bad(
                    "only lower-case letters, digits, '.', '_' and '-' are allowed",
                ));
            }
            if RESERVED_SEGMENTS.contains(&s) {
                return Err(bad(&format!("{s:?} is reserved by the HTTP routes")));
            }
        }
        Ok(RepoName(name.to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True if this name is `prefix` or lies under it (`example.com` covers
    /// `example.com/app`, not `example.community`). An empty prefix covers every name.
    pub fn is_under(&self, prefix: &str) -> bool {
        let prefix = prefix.trim_end_matches('/');
        prefix.is_empty()
            || self.0 == prefix
            || self
                .0
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_and_bad_names() {
        for good in ["app", "example.com/app", "a/b/c-d_e.f", "0day"] {
            assert!(RepoName::new(good).is_ok(), "{good}");
        }
        let long = "a".repeat(65);
        for bad in [
            "",
            "/app",
            "app/",
            "a//b",
            "App",
            "a/../b",
            "./a",
            "-a",
            "a b",
            "a/metadata",
            "keys",
            "a\u{0}b",
            "é",
            long.as_str(),
            "a/b/c/d/e/f/g/h/i",
        ] {
            assert!(RepoName::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn prefixes_cover_whole_segments() {
        let n = RepoName::new("example.com/app").unwrap();
        assert!(n.is_under("example.com"));
        assert!(n.is_under("example.com/"));
        assert!(n.is_under("example.com/app"));
        assert!(n.is_under(""));
        assert!(!n.is_under("example.co"));
        assert!(!n.is_under("example.com/app/x"));
    }
}
