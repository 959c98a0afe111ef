//! Which delegated roles are trusted for a target path (TUF §4.5 "paths",
//! "path_hash_prefixes"; TAP 15 succinct hash bins).

use crate::metadata::{DelegatedRole, Delegations, SuccinctRoles};
use sha2::{Digest, Sha256};

/// TUF §4.5: a PATHPATTERN uses shell-style wildcards; "/" separates directories.
/// As python-tuf does, pattern and path must have the same number of
/// "/"-separated segments and each segment must match, so `*` never crosses a `/`.
/// A pattern that is not a valid glob matches nothing.
pub fn path_matches(pattern: &str, target: &str) -> bool {
    let pattern_parts: Vec<&str> = pattern.split('/').collect();
    let target_parts: Vec<&str> = target.split('/').collect();
    if pattern_parts.len() != target_parts.len() {
        return false;
    }
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    pattern_parts
        .iter()
        .zip(&target_parts)
        .all(|(p, t)| glob::Pattern::new(p).is_ok_and(|pat| pat.matches_with(t, options)))
}

fn target_hash_hex(target: &str) -> String {
    hex::encode(Sha256::digest(target.as_bytes()))
}

impl DelegatedRole {
    /// True if this role is trusted for `target` (by `paths` or `path_hash_prefixes`;
    /// a role with neither is trusted for nothing).
    pub fn is_delegated_path(&self, target: &str) -> bool {
        if let Some(paths) = &self.paths {
            return paths.iter().any(|p| path_matches(p, target));
        }
        if let Some(prefixes) = &self.path_hash_prefixes {
            let h = target_hash_hex(target);
            return prefixes.iter().any(|p| h.starts_with(p.as_str()));
        }
        false
    }
}

impl SuccinctRoles {
    fn suffix_len(&self) -> usize {
        usize::from(self.bit_length).div_ceil(4)
    }

    /// Number of bins, `2^bit_length`.
    pub fn bin_count(&self) -> u64 {
        1u64 << self.bit_length
    }

    /// The bin role responsible for `target`: the first `bit_length` bits of
    /// SHA-256(target), as `<name_prefix>-<zero-padded lower-case hex>`.
    pub fn role_for(&self, target: &str) -> String {
        let h = Sha256::digest(target.as_bytes());
        let first = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        let bin = u64::from(first) >> (32 - u32::from(self.bit_length));
        self.bin_name(bin)
    }

    /// The name of bin `bin`.
    pub fn bin_name(&self, bin: u64) -> String {
        format!(
            "{}-{:0width$x}",
            self.name_prefix,
            bin,
            width = self.suffix_len()
        )
    }

    /// True if `name` is one of this delegation's bins.
    pub fn is_bin_name(&self, name: &str) -> bool {
        let Some(suffix) = name
            .strip_prefix(self.name_prefix.as_str())
            .and_then(|s| s.strip_prefix('-'))
        else {
            return false;
        };
        suffix.len() == self.suffix_len()
            && suffix
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && u64::from_str_radix(suffix, 16).is_ok_and(|bin| bin < self.bin_count())
    }
}

impl Delegations {
    /// The delegated roles trusted for `target`, in search order, each with its
    /// `terminating` flag (TUF §5.6.7.2). A succinct delegation yields its one bin,
    /// which is terminating: no other role can be responsible for a path in it.
    pub fn roles_for_target(&self, target: &str) -> Vec<(String, bool)> {
        if let Some(s) = &self.succinct_roles {
            return vec![(s.role_for(target), true)];
        }
        self.roles
            .iter()
            .flatten()
            .filter(|r| r.is_delegated_path(target))
            .map(|r| (r.name.clone(), r.terminating))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn globs_match_segment_by_segment() {
        assert!(path_matches("*", "file.txt"));
        assert!(!path_matches("*", "dir/file.txt"));
        assert!(path_matches("dir/*", "dir/file.txt"));
        assert!(!path_matches("dir/*", "dir/sub/file.txt"));
        assert!(path_matches("*/*.tgz", "a/b.tgz"));
        assert!(path_matches("file?.txt", "file1.txt"));
        assert!(!path_matches("file?.txt", "file10.txt"));
        assert!(path_matches("[ab].txt", "a.txt"));
        assert!(!path_matches("[", "["));
        assert!(!path_matches("targets/*", "../targets/x"));
    }

    #[test]
    fn succinct_bins_follow_tap_15() {
        let s = SuccinctRoles {
            keyids: vec![],
            threshold: 1,
            bit_length: 8,
            name_prefix: "bins".into(),
            unknown: BTreeMap::new(),
        };
        // The first byte of SHA-256("") is 0xe3.
        assert_eq!(s.role_for(""), "bins-e3");
        assert!(s.is_bin_name("bins-00") && s.is_bin_name("bins-ff"));
        assert!(
            !s.is_bin_name("bins-100") && !s.is_bin_name("bins-FF") && !s.is_bin_name("bin-00")
        );
        let three = SuccinctRoles {
            bit_length: 3,
            ..s.clone()
        };
        // 0xe3 = 0b111_00011: the top three bits are 7.
        assert_eq!(three.role_for(""), "bins-7");
        assert!(!three.is_bin_name("bins-8"));
        let thirteen = SuccinctRoles {
            bit_length: 13,
            ..s
        };
        assert_eq!(thirteen.bin_name(5), "bins-0005");
    }
}
