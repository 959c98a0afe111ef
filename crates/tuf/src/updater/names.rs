//! A role's name on the wire and on disk.

use crate::{Error, Result};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Characters kept as they are in role names in URLs; everything else, "/"
/// included, is percent-encoded, as python-tuf's `quote(name, safe="")` does, so
/// that clients and repositories of either name the same file.
const ROLE_NAME_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A role name as one URL path segment: `../x` is `..%2Fx`, `?` is `%3F`.
pub fn encode_role_name(role: &str) -> String {
    utf8_percent_encode(role, ROLE_NAME_ENCODE).to_string()
}

/// [`ROLE_NAME_ENCODE`] with capital letters encoded too, so that two names that
/// differ only in case never map to one file on a file system that ignores case.
const LOCAL_NAME_ENCODE: &AsciiSet = &{
    let mut set = ROLE_NAME_ENCODE.add(b'A');
    let mut capital = b'B';
    while capital <= b'Z' {
        set = set.add(capital);
        capital += 1;
    }
    set
};

/// Longest local file name, in bytes: the name limit of common file systems.
pub const MAX_LOCAL_NAME_BYTES: usize = 255;

/// A role name or target path as a file name in one directory: one path
/// component that cannot be `.` or `..` or hidden (a leading `.` is encoded), names
/// no other directory (`/` and `\` are encoded), and is distinct from the file of
/// every other name even where the file system ignores case (capitals are encoded;
/// the encoding's own hex digits are always capitals, and `%` itself is encoded).
/// Refused when empty or longer than [`MAX_LOCAL_NAME_BYTES`].
pub fn local_file_name(name: &str) -> Result<String> {
    file_name_with(name, "")
}

/// The file that keeps trusted metadata of `role`: [`local_file_name`] with
/// `.json`, so `root.json`, `targets.json` and so on for the top-level roles.
pub fn role_file_name(role: &str) -> Result<String> {
    file_name_with(role, ".json")
}

fn file_name_with(name: &str, suffix: &str) -> Result<String> {
    let mut file = match name.strip_prefix('.') {
        Some(rest) => format!("%2E{}", utf8_percent_encode(rest, LOCAL_NAME_ENCODE)),
        None => utf8_percent_encode(name, LOCAL_NAME_ENCODE).to_string(),
    };
    if file.is_empty() {
        return Err(Error::Usage("an empty name has no local file".into()));
    }
    file.push_str(suffix);
    if file.len() > MAX_LOCAL_NAME_BYTES {
        return Err(Error::TooLarge {
            what: format!("the local file name of {name:?}"),
            len: file.len() as u64,
            limit: MAX_LOCAL_NAME_BYTES as u64,
        });
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_name() -> impl Strategy<Value = String> {
        // Short names from an alphabet rich in what needs care: case, dots,
        // separators, the escape character itself, and non-ASCII.
        proptest::collection::vec(
            prop::sample::select(vec![
                'a', 'A', 'z', 'Z', '0', '.', '/', '\\', '%', '?', '#', ' ', '-', '_', '~', 'é',
                'É', 'ß',
            ]),
            1..8,
        )
        .prop_map(|cs| cs.into_iter().collect())
    }

    proptest! {
        #[test]
        fn local_names_are_one_plain_component_distinct_ignoring_case(
            a in any_name(),
            b in any_name(),
        ) {
            let (fa, fb) = (local_file_name(&a).unwrap(), local_file_name(&b).unwrap());
            prop_assert!(!fa.contains('/') && !fa.contains('\\') && !fa.starts_with('.'));
            // Capitals only as the hex digits of an escape.
            let bytes = fa.as_bytes();
            for (i, c) in bytes.iter().enumerate() {
                if c.is_ascii_uppercase() {
                    let escaped = (i >= 1 && bytes[i - 1] == b'%') || (i >= 2 && bytes[i - 2] == b'%');
                    prop_assert!(escaped, "{fa}");
                }
            }
            if a != b {
                prop_assert_ne!(fa.to_lowercase(), fb.to_lowercase());
            }
            // The URL segment is python-tuf's quote(name, safe=""): it decodes back.
            let url = encode_role_name(&a);
            prop_assert!(!url.contains('/'));
            let decoded = percent_encoding::percent_decode_str(&url).decode_utf8().unwrap();
            prop_assert_eq!(decoded, a.as_str());
        }
    }

    #[test]
    fn local_names_refuse_what_cannot_be_a_file() {
        assert!(matches!(local_file_name(""), Err(Error::Usage(_))));
        assert_eq!(local_file_name(".").unwrap(), "%2E");
        assert_eq!(local_file_name("..").unwrap(), "%2E.");
        assert_eq!(local_file_name("../x").unwrap(), "%2E.%2Fx");
        let long = "x".repeat(MAX_LOCAL_NAME_BYTES);
        assert!(local_file_name(&long).is_ok());
        assert!(matches!(
            role_file_name(&long),
            Err(Error::TooLarge { limit, .. }) if limit == MAX_LOCAL_NAME_BYTES as u64
        ));
        assert!(matches!(
            local_file_name(&"/".repeat(100)),
            Err(Error::TooLarge { .. })
        ));
    }
}
