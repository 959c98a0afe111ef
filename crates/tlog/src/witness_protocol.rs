//! The `add-checkpoint` request body (C2SP tlog-witness): an `old N` line, up to 63
//! consistency proof lines, an empty line, then the signed checkpoint note.

use crate::decimal::parse_canonical;
use crate::lines::{push_hashes_and_empty_line, LineError, Lines};
use crate::{Error, Hash};

/// "The client MUST NOT send more than 63 consistency proof lines."
pub const MAX_PROOF_LINES: usize = 63;
/// Largest request body read: the old size line, 63 base64 hashes and the largest
/// note `tlog` parses.
pub const MAX_REQUEST_BYTES: usize = 32 + MAX_PROOF_LINES * 45 + crate::note::MAX_NOTE_BYTES;

/// A parsed `add-checkpoint` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness cosigned last.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The checkpoint note, signature lines included, exactly as sent.
    pub note: Vec<u8>,
}

impl AddCheckpoint {
    /// Parses a request body. Every malformation is
    /// [`Error::MalformedWitnessRequest`] (a witness answers 400).
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        if body.len() > MAX_REQUEST_BYTES {
            return Err(Error::MalformedWitnessRequest(format!(
                "the request is larger than {MAX_REQUEST_BYTES} bytes"
            )));
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| Error::MalformedWitnessRequest("the request is not UTF-8".into()))?;
        let malformed = |e: LineError| Error::MalformedWitnessRequest(e.0);
        let mut lines = Lines::new(text);
        // "The old size line MUST consist of the string `old`, a single space (0x20),
        // and the tree size ... as an ASCII decimal with no leading zeroes."
        let old_line = lines.next("the old size line").map_err(malformed)?;
        let digits = old_line.strip_prefix("old ").ok_or_else(|| {
            Error::MalformedWitnessRequest(format!("{old_line:?} is not an old size line"))
        })?;
        let old_size = parse_canonical(digits).map_err(|_| {
            Error::MalformedWitnessRequest(format!("old size {digits:?} is not a decimal"))
        })?;
        // "The client MUST NOT send more than 63 consistency proof lines."
        let proof = lines
            .hashes_to_empty_line("consistency proof", MAX_PROOF_LINES)
            .map_err(malformed)?;
        Ok(AddCheckpoint {
            old_size,
            proof,
            note: lines.rest().as_bytes().to_vec(),
        })
    }

    /// The request body, as a log sends it.
    pub fn to_body(&self) -> Vec<u8> {
        let mut body = format!("old {}\n", self.old_size);
        push_hashes_and_empty_line(&mut body, &self.proof);
        let mut body = body.into_bytes();
        body.extend_from_slice(&self.note);
        body
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const NOTE: &str = "example.com/log\n3\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n— example.com/log AAAA\n";
    const H: &str = "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=";

    #[test]
    fn a_request_round_trips() {
        let body = format!("old 2\n{H}\n{H}\n\n{NOTE}");
        let req = AddCheckpoint::parse(body.as_bytes()).unwrap();
        assert_eq!(req.old_size, 2);
        assert_eq!(req.proof.len(), 2);
        assert_eq!(req.note, NOTE.as_bytes());
        assert_eq!(req.to_body(), body.as_bytes());
        let empty = AddCheckpoint::parse(format!("old 0\n\n{NOTE}").as_bytes()).unwrap();
        assert_eq!((empty.old_size, empty.proof.len()), (0, 0));
    }

    #[test]
    fn every_malformed_request_is_refused_as_malformed() {
        let sixty_four = format!("{H}\n").repeat(64);
        let sixty_three = format!("{H}\n").repeat(63);
        assert!(AddCheckpoint::parse(format!("old 9\n{sixty_three}\n{NOTE}").as_bytes()).is_ok());
        for bad in [
            format!("old 01\n\n{NOTE}"),
            format!("old -1\n\n{NOTE}"),
            format!("old  1\n\n{NOTE}"),
            format!("old 1 \n\n{NOTE}"),
            format!("Old 1\n\n{NOTE}"),
            format!("old\n\n{NOTE}"),
            format!("old 99999999999999999999\n\n{NOTE}"),
            format!("old 1\n{H}"),
            format!("old 1\nnot base64\n\n{NOTE}"),
            format!("old 1\n{}\n\n{NOTE}", &H[..20]),
            format!("old 9\n{sixty_four}\n{NOTE}"),
            "old 1".to_string(),
            String::new(),
        ] {
            match AddCheckpoint::parse(bad.as_bytes()) {
                Err(Error::MalformedWitnessRequest(_)) => {}
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(AddCheckpoint::parse(&[0xff, b'\n']).is_err());
        let huge = vec![b'a'; MAX_REQUEST_BYTES + 1];
        assert!(matches!(
            AddCheckpoint::parse(&huge),
            Err(Error::MalformedWitnessRequest(_))
        ));
    }
}
