//! Content codings of cached answers: each cached answer is compressed at most once per
//! coding, when a client first asks for it, instead of once per hit.
//!
//! The codings and levels are the ones the HTTP compression layer uses on answers it
//! compresses on the fly (gzip level 6, Brotli quality 4, zstd level 3), so a cached and a
//! freshly computed answer cost a client the same bytes.

use std::io::Write;

use axum::body::Bytes;

/// A content coding the server compresses answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Coding {
    /// `gzip` (RFC 1952).
    Gzip,
    /// `br`: Brotli (RFC 7932).
    Brotli,
    /// `zstd`: Zstandard (RFC 8878).
    Zstd,
}

impl Coding {
    /// Every coding, in increasing order of preference when a client weighs them equally
    /// (the compression layer's order: zstd, then br, then gzip).
    pub const ALL: [Coding; 3] = [Coding::Gzip, Coding::Brotli, Coding::Zstd];

    /// The coding's token in `Accept-Encoding` and `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
        }
    }

    /// The coding named `token` (case-insensitive), if the server speaks it.
    pub fn from_token(token: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|coding| coding.token().eq_ignore_ascii_case(token))
    }

    /// Its index in [`Coding::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// `body` compressed with this coding.
    pub fn compress(self, body: &[u8]) -> Bytes {
        let mut out = Vec::with_capacity(body.len() / 4 + 64);
        let written = match self {
            Coding::Gzip => {
                let mut encoder =
                    flate2::write::GzEncoder::new(&mut out, flate2::Compression::new(6));
                encoder
                    .write_all(body)
                    .and_then(|()| encoder.finish().map(drop))
            }
            Coding::Brotli => {
                let params = brotli::enc::BrotliEncoderParams {
                    quality: 4,
                    ..Default::default()
                };
                brotli::BrotliCompress(&mut &body[..], &mut out, &params).map(drop)
            }
            Coding::Zstd => zstd::stream::copy_encode(body, &mut out, 3),
        };
        // Writing into memory cannot fail; should an encoder ever report otherwise, the
        // caller must not send half a stream.
        debug_assert!(written.is_ok(), "{written:?}");
        if written.is_err() {
            out.clear();
        }
        Bytes::from(out)
    }
}

/// The coding a client prefers by its `Accept-Encoding` values, as the compression layer
/// picks it: the highest q-value, ties broken by [`Coding::ALL`]'s order; `None` for
/// identity (no header, or nothing acceptable). Malformed items are ignored.
pub fn preferred<'a>(accept_encoding: impl IntoIterator<Item = &'a str>) -> Option<Coding> {
    accept_encoding
        .into_iter()
        .flat_map(|value| value.split(','))
        .filter_map(|item| {
            let mut parts = item.split(';');
            let coding = Coding::from_token(parts.next()?.trim())?;
            let quality = match parts.next() {
                None => 1000,
                Some(param) => q_value(param.trim())?,
            };
            (quality > 0).then_some((quality, coding))
        })
        .max()
        .map(|(_, coding)| coding)
}

/// A `q=` parameter in thousandths (`q=0.5` → 500), if well formed.
fn q_value(param: &str) -> Option<u16> {
    let value = param
        .strip_prefix("q=")
        .or_else(|| param.strip_prefix("Q="))?;
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn preference_follows_q_values_then_the_layers_order() {
        assert_eq!(preferred(["gzip, br"]), Some(Coding::Brotli));
        assert_eq!(preferred(["gzip, deflate, br, zstd"]), Some(Coding::Zstd));
        assert_eq!(preferred(["gzip;q=1.0, br;q=0.5"]), Some(Coding::Gzip));
        assert_eq!(preferred(["br;q=0.001", "GZIP;q=0.01"]), Some(Coding::Gzip));
        assert_eq!(preferred(["gzip;q=0, identity"]), None);
        assert_eq!(preferred(["deflate", "*"]), None);
        assert_eq!(preferred(["gzip;q=2, br;q=0.1234, zstd;q=x"]), None);
        assert_eq!(preferred(std::iter::empty()), None);
    }

    #[test]
    fn each_coding_decodes_to_the_same_bytes() {
        let body = "{\"data\":{\"article\":\"Khrushchev\"}}".repeat(200);
        for coding in Coding::ALL {
            let packed = coding.compress(body.as_bytes());
            assert!(packed.len() < body.len() / 4, "{coding:?}");
            let mut unpacked = Vec::new();
            match coding {
                Coding::Gzip => {
                    flate2::read::GzDecoder::new(&packed[..])
                        .read_to_end(&mut unpacked)
                        .unwrap();
                }
                Coding::Brotli => {
                    brotli::Decompressor::new(&packed[..], 4096)
                        .read_to_end(&mut unpacked)
                        .unwrap();
                }
                Coding::Zstd => unpacked = zstd::decode_all(&packed[..]).unwrap(),
            }
            assert_eq!(unpacked, body.as_bytes(), "{coding:?}");
        }
    }
}
