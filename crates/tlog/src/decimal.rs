//! The one decimal every C2SP text format and every tuflog path and query uses:
//! ASCII digits, no sign, no spaces, no leading zeroes ("0" itself is fine), at
//! most `u64::MAX`. A number has exactly one spelling, so two parties that
//! compare texts compare numbers.

/// Why a text is not a canonical decimal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecimalFlaw {
    /// Empty, a character other than an ASCII digit, or a leading zero.
    NotCanonical,
    /// Canonical digits, but above `u64::MAX`.
    TooLarge,
}

/// `text` as a number, when it is spelled canonically.
///
/// C2SP tlog-checkpoint: "the ASCII decimal representation of the number of
/// leaves in the tree, with no leading zeroes"; tlog-tiles and tlog-witness spell
/// their numbers the same way.
pub fn parse_canonical(text: &str) -> Result<u64, DecimalFlaw> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(DecimalFlaw::NotCanonical);
    }
    text.parse().map_err(|_| DecimalFlaw::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_the_one_spelling_of_a_number_is_read() {
        assert_eq!(parse_canonical("0"), Ok(0));
        assert_eq!(parse_canonical("10"), Ok(10));
        assert_eq!(parse_canonical("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            parse_canonical("18446744073709551616"),
            Err(DecimalFlaw::TooLarge)
        );
        for bad in [
            "", "00", "01", "+1", "-1", " 1", "1 ", "1_0", "1e3", "0x1", "١",
        ] {
            assert_eq!(
                parse_canonical(bad),
                Err(DecimalFlaw::NotCanonical),
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn every_number_reads_back_from_its_display(n: u64) {
            prop_assert_eq!(parse_canonical(&n.to_string()), Ok(n));
            let padded = format!("0{n}");
            prop_assert_eq!(parse_canonical(&padded), Err(DecimalFlaw::NotCanonical));
        }
    }
}
