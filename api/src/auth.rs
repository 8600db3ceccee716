//! Who is calling: key extraction, hash lookup, scopes.
//!
//! Keys are looked up by their SHA-256 hash, so the lookup time depends on the
//! hash, never on how much of a stored secret the caller guessed. The bootstrap
//! key is compared hash to hash in constant time.
//!
//! A key found in Postgres is remembered for [`KEY_CACHE_TTL`] (by hash, with
//! its expiry), so a busy client costs no query per request. Revoking a key
//! evicts it at once on the instance that revoked it; other API instances
//! stop accepting it within the TTL.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{web, FromRequest, HttpRequest};
use chrono::{DateTime, Utc};
use shared::model::api_key::{hash_key, hashes_equal, scopes_allow};
use shared::model::Scope;
use uuid::Uuid;

use crate::error::ApiError;
use crate::startup::AppState;

/// How often a key's `last_used_at` is written at most.
const LAST_USED_RESOLUTION_SECONDS: i64 = 60;
/// Longest key accepted; anything longer is not one of ours.
const MAX_KEY_LEN: usize = 256;
/// How long a key read from Postgres is trusted without reading it again.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);
/// Most keys remembered at once; unknown keys are never remembered.
const KEY_CACHE_CAPACITY: usize = 10_000;
/// Actor name recorded for the bootstrap key.
pub const BOOTSTRAP_ACTOR: &str = "bootstrap";

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key's id; `None` for the bootstrap key.
    pub key_id: Option<Uuid>,
    /// The key's name, recorded in the audit log.
    pub name: String,
    pub scopes: Vec<Scope>,
}

impl Caller {
    /// Fails with 403 unless the caller holds `scope` (admin holds all).
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if scopes_allow(&self.scopes, scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(scope))
        }
    }

    /// Whether the caller holds the admin scope (which alone sees secrets).
    pub fn is_admin(&self) -> bool {
        self.scopes.contains(&Scope::Admin)
    }

    /// The actor label for audit rows and filters.
    pub fn actor(&self) -> String {
        match self.key_id {
            Some(id) => id.to_string(),
            None => BOOTSTRAP_ACTOR.to_owned(),
        }
    }
}

/// Keys recently read from Postgres, by hash.
#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<[u8; 32], CachedKey>>,
}

struct CachedKey {
    caller: Caller,
    expires_at: Option<DateTime<Utc>>,
    read_at: Instant,
    /// When `last_used_at` was last written (or read as recent enough).
    use_recorded_at: Instant,
}

impl KeyCache {
    /// The caller for `hash` if it was read within the TTL and has not
    /// expired; also says whether its use is due to be recorded.
    fn get(&self, hash: &[u8; 32], now: DateTime<Utc>) -> Option<(Caller, bool)> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get_mut(hash)?;
        if entry.read_at.elapsed() >= KEY_CACHE_TTL || entry.expires_at.is_some_and(|at| at <= now)
        {
            entries.remove(hash);
            return None;
        }
        let record =
            entry.use_recorded_at.elapsed().as_secs() >= LAST_USED_RESOLUTION_SECONDS as u64;
        if record {
            entry.use_recorded_at = Instant::now();
        }
        Some((entry.caller.clone(), record))
    }

    fn put(&self, hash: [u8; 32], entry: CachedKey) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= KEY_CACHE_CAPACITY {
            entries.retain(|_, e| e.read_at.elapsed() < KEY_CACHE_TTL);
            if entries.len() >= KEY_CACHE_CAPACITY {
                entries.clear();
            }
        }
        entries.insert(hash, entry);
    }

    /// Forgets a key (it was revoked).
    pub fn forget(&self, key_id: Uuid) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, e| e.caller.key_id != Some(key_id));
    }
}

/// Writes `last_used_at = now()` in the background.
fn record_use(state: &AppState, id: Uuid) {
    let db = state.db.clone();
    tokio::spawn(async move {
        if let Ok(client) = db.get().await {
            if let Err(error) = client
                .execute(
                    "UPDATE api_keys SET last_used_at = now() WHERE id = $1",
                    &[&id],
                )
                .await
            {
                tracing::warn!(%error, "recording key use failed");
            }
        }
    });
}

/// The raw key from `Authorization: Bearer` or `X-API-Key`.
fn presented_key(req: &HttpRequest) -> Option<&str> {
    if let Some(value) = req.headers().get("authorization") {
        let value = value.to_str().ok()?.trim();
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty());
    }
    req.headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

#[tracing::instrument(skip_all)]
async fn authenticate(req: HttpRequest) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| anyhow::anyhow!("application state missing"))?
        .clone();
    let Some(raw) = presented_key(&req) else {
        return Err(ApiError::Unauthorized(
            "an API key is required: send Authorization: Bearer <key> or X-API-Key",
        ));
    };
    if raw.len() > MAX_KEY_LEN {
        return Err(ApiError::Unauthorized(
            "invalid, revoked or expired API key",
        ));
    }
    let hash = hash_key(raw);
    if hashes_equal(&hash, &state.bootstrap_key_hash) {
        return Ok(Caller {
            key_id: None,
            name: BOOTSTRAP_ACTOR.to_owned(),
            scopes: vec![Scope::Admin],
        });
    }
    let now = Utc::now();
    if let Some((caller, record)) = state.keys.get(&hash, now) {
        if record {
            if let Some(id) = caller.key_id {
                record_use(&state, id);
            }
        }
        return Ok(caller);
    }

    let client = state.db.get().await?;
    let statement = client
        .prepare_cached(
            "SELECT id, name, scopes, last_used_at, expires_at, revoked_at \
             FROM api_keys WHERE key_hash = $1",
        )
        .await?;
    let Some(row) = client.query_opt(&statement, &[&&hash[..]]).await? else {
        return Err(ApiError::Unauthorized(
            "invalid, revoked or expired API key",
        ));
    };
    let id: Uuid = row.try_get("id")?;
    let revoked_at: Option<DateTime<Utc>> = row.try_get("revoked_at")?;
    let expires_at: Option<DateTime<Utc>> = row.try_get("expires_at")?;
    let last_used_at: Option<DateTime<Utc>> = row.try_get("last_used_at")?;
    if revoked_at.is_some() || expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::Unauthorized(
            "invalid, revoked or expired API key",
        ));
    }
    let used_ago = last_used_at.map(|at| (now - at).num_seconds().max(0));
    let use_recorded_at = match used_ago {
        Some(ago) if ago < LAST_USED_RESOLUTION_SECONDS => {
            Instant::now() - Duration::from_secs(ago as u64)
        }
        _ => {
            record_use(&state, id);
            Instant::now()
        }
    };
    let scopes: Vec<String> = row.try_get("scopes")?;
    let caller = Caller {
        key_id: Some(id),
        name: row.try_get("name")?,
        scopes: scopes.iter().filter_map(|s| s.parse().ok()).collect(),
    };
    state.keys.put(
        hash,
        CachedKey {
            caller: caller.clone(),
            expires_at,
            read_at: Instant::now(),
            use_recorded_at,
        },
    );
    Ok(caller)
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}
