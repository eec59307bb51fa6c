//! PostgreSQL write-ahead-log positions (`pg_lsn`), as the text PostgreSQL prints (`16/B374D848`).

use std::{fmt, str::FromStr};

/// A position in PostgreSQL's write-ahead log. Later positions compare greater.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lsn(pub u64);

/// Why a text is not an LSN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a PostgreSQL LSN (two hexadecimal numbers separated by `/`, e.g. 16/B374D848)"
)]
pub struct NotAnLsn(pub String);

impl FromStr for Lsn {
    type Err = NotAnLsn;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wrong = || NotAnLsn(text.chars().take(40).collect());
        let (high, low) = text.trim().split_once('/').ok_or_else(wrong)?;
        let part = |digits: &str| {
            if digits.is_empty()
                || digits.len() > 8
                || !digits.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return Err(wrong());
            }
            u32::from_str_radix(digits, 16).map_err(|_| wrong())
        };
        Ok(Self((u64::from(part(high)?) << 32) | u64::from(part(low)?)))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_what_postgresql_prints() {
        assert_eq!("0/0".parse(), Ok(Lsn(0)));
        assert_eq!("16/B374D848".parse(), Ok(Lsn(0x16_B374_D848)));
        assert_eq!("16/b374d848".parse(), Ok(Lsn(0x16_B374_D848)));
        assert_eq!(Lsn(0x16_B374_D848).to_string(), "16/B374D848");
        assert!("0/1".parse::<Lsn>().unwrap() < "1/0".parse().unwrap());
    }

    #[test]
    fn refuses_anything_else() {
        for text in [
            "",
            "/",
            "16",
            "16/",
            "/B3",
            "1/2/3",
            "G/0",
            "123456789/0",
            "-1/0",
            "+1/0",
        ] {
            assert!(text.parse::<Lsn>().is_err(), "{text:?}");
        }
        let long = "x".repeat(1000);
        assert!(long.parse::<Lsn>().unwrap_err().0.len() <= 40);
    }

    proptest! {
        #[test]
        fn round_trips(value: u64) {
            let lsn = Lsn(value);
            prop_assert_eq!(lsn.to_string().parse::<Lsn>(), Ok(lsn));
        }

        #[test]
        fn never_panics(text in "\\PC{0,30}") {
            let _ = text.parse::<Lsn>();
        }
    }
}
