//! One journal line: a record with its sequence number, wrapped with a CRC32 of its exact bytes.
//!
//! A line reads `{"crc":"1a2b3c4d","rec":{...}}`: the checksum covers the bytes of the `rec` value as
//! written, so checking it needs no re-serialisation, and the whole line is still JSON for `jq`.
//! These are the only structs that write passwords in plain text; their Debug still masks them.

use resetlab_wire::Secret;
use serde::{Deserialize, Serialize};

use crate::key::{DeviceKey, Outcome};

/// A journal record: what happened, with its sequence number and wall-clock time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    pub seq: u64,
    pub at_ms: u64,
    pub event: Event,
}

/// What a record says.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Event {
    /// The password the device had when the run found it.
    Baseline {
        device: DeviceKey,
        #[serde(with = "plain")]
        password: Secret,
    },
    /// A password change about to be sent; its change id is this record's `seq`.
    Intended {
        device: DeviceKey,
        #[serde(with = "plain")]
        old: Secret,
        #[serde(with = "plain")]
        new: Secret,
    },
    /// What the device was found to hold after change `change`.
    Outcome { change: u64, outcome: Outcome },
    /// The baseline is back on the device: nothing for this key is unfinished any more.
    Restored { device: DeviceKey },
    /// An account about to be added to a device (written before the request is sent). Recovery
    /// deletes it signed in as `by` with `by_password`: the administrator's baseline, which
    /// password recovery has put back by then.
    AccountAdded {
        device: DeviceKey,
        by: String,
        #[serde(with = "plain")]
        by_password: Secret,
    },
    /// The added account `device` is gone from the device again.
    AccountRemoved { device: DeviceKey },
}

/// Serde for a `Secret` that writes the plain value: `Secret`'s own Serialize prints a mask.
mod plain {
    use resetlab_wire::Secret;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(secret.expose())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

const HEAD: &[u8] = b"{\"crc\":\"";
const MID: &[u8] = b"\",\"rec\":";

/// The line for `record`, newline included.
pub(crate) fn encode(record: &Record) -> String {
    // Serialising plain structs of strings and integers into a String cannot fail.
    let body = serde_json::to_string(record).expect("journal record serialises");
    format!("{{\"crc\":\"{:08x}\",\"rec\":{body}}}\n", crc32(body.as_bytes()))
}

/// The record on one line (without its newline), or why it is not one. The reason never quotes
/// the line: it may hold passwords.
pub(crate) fn decode(line: &[u8]) -> Result<Record, String> {
    let rest = line.strip_prefix(HEAD).ok_or("not a journal record")?;
    if rest.len() < 8 {
        return Err("line ends inside the checksum".into());
    }
    let (hex, rest) = rest.split_at(8);
    let hex = std::str::from_utf8(hex).map_err(|_| "checksum is not hex")?;
    let want = u32::from_str_radix(hex, 16).map_err(|_| "checksum is not hex")?;
    let body = rest.strip_prefix(MID).and_then(|r| r.strip_suffix(b"}")).ok_or("record is not wrapped as expected")?;
    let got = crc32(body);
    if got != want {
        return Err(format!("checksum mismatch: line says {want:08x}, content gives {got:08x}"));
    }
    serde_json::from_slice(body).map_err(|e| {
        // serde_json's message may quote a value; report only its category and column.
        format!("record does not parse ({:?} error at column {})", e.classify(), e.column())
    })
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 (IEEE 802.3, the one in zlib and PNG).
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c = CRC_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_published_check_value() {
        // The standard check value of CRC-32/ISO-HDLC for "123456789".
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn a_record_round_trips_and_its_line_is_json_with_the_plain_password() {
        let rec = Record {
            seq: 7,
            at_ms: 1,
            event: Event::Intended {
                device: DeviceKey::new("SN1", "admin"),
                old: Secret::new("oldpw1"),
                new: Secret::new("newpw2"),
            },
        };
        let line = encode(&rec);
        assert!(line.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["rec"]["event"]["new"], "newpw2");
        let back = decode(line.trim_end().as_bytes()).unwrap();
        assert_eq!(back.seq, 7);
        match back.event {
            Event::Intended { new, .. } => assert_eq!(new.expose(), "newpw2"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_flipped_byte_is_a_checksum_mismatch_and_the_reason_quotes_nothing() {
        let rec = Record {
            seq: 1,
            at_ms: 1,
            event: Event::Baseline { device: DeviceKey::new("SN1", "admin"), password: Secret::new("zq9Xk4") },
        };
        let mut line = encode(&rec).trim_end().as_bytes().to_vec();
        let at = line.len() - 5;
        line[at] ^= 0x01;
        let reason = decode(&line).unwrap_err();
        assert!(reason.contains("checksum mismatch"), "{reason}");
        assert!(!reason.contains("zq9Xk4"));
    }
}
