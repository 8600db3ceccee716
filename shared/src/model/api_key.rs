//! API keys: hashed bearer tokens with scopes.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Every generated key starts with this, so leaked keys are recognisable.
pub const KEY_PREFIX: &str = "upt_";
/// Characters of a key shown in listings to tell keys apart.
pub const DISPLAY_PREFIX_LEN: usize = 12;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// GET endpoints.
    Read,
    /// Mutations of monitors and channels.
    Write,
    /// API keys and the audit log; implies read and write.
    Admin,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Admin];

    /// The name used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

impl FromStr for Scope {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or(())
    }
}

/// A stored key, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Columns selected by [`ApiKey::from_row`].
pub const API_KEY_COLUMNS: &str =
    "id, name, prefix, scopes, created_at, last_used_at, expires_at, revoked_at";

impl ApiKey {
    /// Builds a key from a row selected with [`API_KEY_COLUMNS`].
    pub fn from_row(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        let scopes: Vec<String> = row.try_get("scopes")?;
        Ok(ApiKey {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            prefix: row.try_get("prefix")?,
            scopes: scopes.iter().filter_map(|s| s.parse().ok()).collect(),
            created_at: row.try_get("created_at")?,
            last_used_at: row.try_get("last_used_at")?,
            expires_at: row.try_get("expires_at")?,
            revoked_at: row.try_get("revoked_at")?,
        })
    }

    /// Whether the key grants `needed`; admin grants everything.
    pub fn allows(&self, needed: Scope) -> bool {
        scopes_allow(&self.scopes, needed)
    }
}

/// Whether a set of scopes grants `needed`; admin grants everything.
pub fn scopes_allow(scopes: &[Scope], needed: Scope) -> bool {
    scopes.contains(&Scope::Admin) || scopes.contains(&needed)
}

/// SHA-256 of a raw key: the only form stored.
pub fn hash_key(raw: &str) -> [u8; 32] {
    Sha256::digest(raw.as_bytes()).into()
}

/// A new random key: the prefix and 32 random bytes in URL-safe base64.
pub fn generate_key() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Compares two key hashes in constant time.
pub fn hashes_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// The part of a key shown in listings.
pub fn display_prefix(raw: &str) -> String {
    raw.chars().take(DISPLAY_PREFIX_LEN).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_prefixed_unique_and_hash_stably() {
        let a = generate_key();
        let b = generate_key();
        assert!(a.starts_with(KEY_PREFIX));
        assert_ne!(a, b);
        assert!(a.len() >= 40);
        assert_eq!(hash_key(&a), hash_key(&a));
        assert_ne!(hash_key(&a), hash_key(&b));
    }

    #[test]
    fn admin_implies_every_scope() {
        assert!(scopes_allow(&[Scope::Admin], Scope::Write));
        assert!(scopes_allow(&[Scope::Read], Scope::Read));
        assert!(!scopes_allow(&[Scope::Read], Scope::Write));
        assert!(!scopes_allow(&[Scope::Read, Scope::Write], Scope::Admin));
    }
}
