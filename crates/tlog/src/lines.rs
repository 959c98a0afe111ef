//! The line grammar the C2SP texts share: newline-terminated lines, and a run of
//! base64 hash lines closed by an empty line, before a signed note. The
//! tlog-witness `add-checkpoint` request and tlog-proof both read and write it
//! here, with one limit check and one set of messages; each turns a [`LineError`]
//! into its own error kind.

use crate::Hash;

/// Why a text does not follow the line grammar, in words for the caller's error.
pub(crate) struct LineError(pub(crate) String);

/// A text read line by line.
pub(crate) struct Lines<'a> {
    rest: &'a str,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Lines { rest: text }
    }

    /// The next line, without its newline; `what` names it if it has none.
    pub(crate) fn next(&mut self, what: &str) -> Result<&'a str, LineError> {
        let (line, after) = self
            .rest
            .split_once('\n')
            .ok_or_else(|| LineError(format!("{what}: no line ending")))?;
        self.rest = after;
        Ok(line)
    }

    /// Hash lines up to and including the empty line that closes them, at most
    /// `max` of them (`what`: the proof they make, for messages).
    pub(crate) fn hashes_to_empty_line(
        &mut self,
        what: &str,
        max: usize,
    ) -> Result<Vec<Hash>, LineError> {
        let mut hashes = Vec::new();
        loop {
            let line = self.next(what)?;
            if line.is_empty() {
                return Ok(hashes);
            }
            if hashes.len() == max {
                return Err(LineError(format!("more than {max} {what} lines")));
            }
            hashes.push(
                Hash::from_base64(line)
                    .map_err(|_| LineError(format!("proof line {line:?} is not a hash")))?,
            );
        }
    }

    /// Everything after the lines read so far, verbatim.
    pub(crate) fn rest(self) -> &'a str {
        self.rest
    }
}

/// Writes `hashes` one base64 line each, then the empty line that closes them.
pub(crate) fn push_hashes_and_empty_line(out: &mut String, hashes: &[Hash]) {
    for hash in hashes {
        out.push_str(&hash.to_base64());
        out.push('\n');
    }
    out.push('\n');
}
