//! Webhook signatures: Standard Webhooks (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256>`), and the sibling system's
//! `X-UpTime-Signature: sha256=<hex>` over the body.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::model::channel::SIGNING_SECRET_PREFIX;

type HmacSha256 = Hmac<Sha256>;

/// The key bytes of a `whsec_<base64>` secret (a secret without the prefix
/// is decoded the same way; one that is not base64 is used as raw bytes).
pub fn secret_key(secret: &str) -> Vec<u8> {
    let encoded = secret.strip_prefix(SIGNING_SECRET_PREFIX).unwrap_or(secret);
    STANDARD
        .decode(encoded)
        .unwrap_or_else(|_| encoded.as_bytes().to_vec())
}

fn mac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// The `webhook-signature` value: `v1,` + base64 HMAC-SHA256 over
/// `{id}.{timestamp}.{body}` keyed by the channel secret.
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = secret_key(secret);
    let stamp = timestamp.to_string();
    let digest = mac(&key, &[id.as_bytes(), b".", stamp.as_bytes(), b".", body]);
    format!("v1,{}", STANDARD.encode(digest))
}

/// Checks a `webhook-signature` header (space-separated `v1,<sig>` entries)
/// in constant time; true when one entry matches.
pub fn verify_standard(secret: &str, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let expected = standard_signature(secret, id, timestamp, body);
    header.split(' ').any(|candidate| {
        subtle::ConstantTimeEq::ct_eq(candidate.as_bytes(), expected.as_bytes()).into()
    })
}

/// The `X-UpTime-Signature` value: `sha256=` + hex HMAC-SHA256 of the body
/// keyed by WEBHOOK_SIGNING_SECRET.
pub fn legacy_signature(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(mac(secret.as_bytes(), &[body])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        let signature = standard_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn verification_accepts_one_of_several_and_rejects_tampering() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let good = standard_signature(secret, "msg_1", 10, b"{}");
        assert!(verify_standard(
            secret,
            "msg_1",
            10,
            b"{}",
            &format!("v1,bogus {good}")
        ));
        assert!(!verify_standard(secret, "msg_1", 11, b"{}", &good));
        assert!(!verify_standard(secret, "msg_1", 10, b"{ }", &good));
    }

    #[test]
    fn legacy_signature_is_hex_hmac_of_the_body() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog") (RFC 4231 style example)
        assert_eq!(
            legacy_signature("key", b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }
}
