//! The check schedule in Redis: a lease on a fixed slot grid.
//!
//! Every monitor has a phase (a stable hash of its id modulo its interval);
//! its slots are `phase + k * interval` in absolute milliseconds. One shard
//! of the schedule is a set of keys sharing a hash tag, so every script below
//! touches keys of one Cluster slot only:
//!
//! - `due`   sorted set: monitor id -> the slot it is due at;
//! - `lease` sorted set: monitor id -> lease expiry while a worker checks it;
//! - `owner` hash: monitor id -> `worker|slot` of the current lease;
//! - `spec`  hash: monitor id -> `interval_ms:phase_ms:lease_ms`;
//! - `now`   hash: monitor id -> slot of a check-now asked while in flight;
//! - `epoch` string: present once the schedule was built from Postgres.
//!
//! Scripts read the time from Redis (`TIME`), so worker clocks don't matter.
//! The slot is the fencing token: Postgres stores one result per
//! (monitor, slot) and applies monitor state only for a newer slot.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use deadpool_redis::Pool;
use redis::{AsyncCommands, Script};
use uuid::Uuid;

use crate::redis::Keys;

/// Time a lease lasts beyond the monitor's check timeout: enough to hand the
/// result over and acknowledge it. Workers abandon checks before this ends.
pub const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// How many expired leases one claim reaps at most.
const REAP_LIMIT: u32 = 200;
/// Lifetime of the rebuild lock; the rebuilder refreshes the epoch well within it.
const REBUILD_LOCK_TTL_MS: u64 = 60_000;

// Every script gets the same KEYS, in this order (see `Schedule::script`):
// 1 due, 2 lease, 3 owner, 4 spec, 5 now, 6 epoch.

/// Lua: reap expired leases, then claim up to ARGV[2] due monitors.
/// Returns `{now, reaped, epoch_exists, next_due_or_-1, id, slot, lease_ms, ...}`.
const CLAIM_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local reaped = 0
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(expired) do
  local o = redis.call('HGET', KEYS[3], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  if redis.call('HEXISTS', KEYS[4], id) == 1 then
    local slot = now
    if o then
      local sep = string.find(o, '|', 1, true)
      slot = tonumber(string.sub(o, sep + 1))
    end
    redis.call('ZADD', KEYS[1], slot, id)
    reaped = reaped + 1
  end
end
local out = {now, reaped, redis.call('EXISTS', KEYS[6]), -1}
local max = tonumber(ARGV[2])
local due = {}
if max > 0 then
  due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, max)
end
for i = 1, #due, 2 do
  local id = due[i]
  local slot = tonumber(due[i + 1])
  redis.call('ZREM', KEYS[1], id)
  local spec = redis.call('HGET', KEYS[4], id)
  if spec then
    local a = string.find(spec, ':', 1, true)
    local b = string.find(spec, ':', a + 1, true)
    local iv = tonumber(string.sub(spec, 1, a - 1))
    local phase = tonumber(string.sub(spec, a + 1, b - 1))
    local lease = tonumber(string.sub(spec, b + 1))
    -- A slot missed by up to two leases (its owner froze or died and the
    -- lease was reaped, a check ran long) is still run, late, as the same
    -- slot; anything older jumps to the latest grid slot.
    if now - slot > 2 * lease then slot = now - ((now - phase) % iv) end
    redis.call('ZADD', KEYS[2], now + lease, id)
    redis.call('HSET', KEYS[3], id, ARGV[1] .. '|' .. string.format('%.0f', slot))
    table.insert(out, id)
    table.insert(out, slot)
    table.insert(out, lease)
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if first[2] then out[4] = tonumber(first[2]) end
return out
"#;

/// Lua: acknowledge a finished check and schedule the next slot, only if the
/// caller still owns the lease. 1 = next grid slot, 2 = a pending check-now,
/// 0 = lease lost, -1 = monitor no longer scheduled.
const ACK_LUA: &str = r#"
local o = redis.call('HGET', KEYS[3], ARGV[1])
if o ~= ARGV[2] .. '|' .. ARGV[3] then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
local spec = redis.call('HGET', KEYS[4], ARGV[1])
local pending = redis.call('HGET', KEYS[5], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
if not spec then return -1 end
local slot = tonumber(ARGV[3])
if pending then
  redis.call('ZADD', KEYS[1], math.max(tonumber(pending), slot + 1), ARGV[1])
  return 2
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local a = string.find(spec, ':', 1, true)
local b = string.find(spec, ':', a + 1, true)
local iv = tonumber(string.sub(spec, 1, a - 1))
local phase = tonumber(string.sub(spec, a + 1, b - 1))
local lease = tonumber(string.sub(spec, b + 1))
-- The next grid slot after this one, even if it is already past (it is
-- then run at once, late); more than two leases behind, the next one ahead.
local nxt = slot - ((slot - phase) % iv) + iv
if nxt < now - 2 * lease then nxt = now - ((now - phase) % iv) + iv end
redis.call('ZADD', KEYS[1], nxt, ARGV[1])
return 1
"#;

/// Lua: give a lease back so the same slot is due again at once.
const RELEASE_LUA: &str = r#"
local o = redis.call('HGET', KEYS[3], ARGV[1])
if o ~= ARGV[2] .. '|' .. ARGV[3] then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('HEXISTS', KEYS[4], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[1], tonumber(ARGV[3]), ARGV[1])
end
return 1
"#;

/// Lua: create or change a monitor's schedule. ARGV[3] = 1 makes it due now
/// (new or resumed monitors); otherwise it waits for its next grid slot.
/// A monitor in flight keeps its lease; the acknowledgement uses the new spec.
const UPSERT_LUA: &str = r#"
local old = redis.call('HGET', KEYS[4], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[3] == '1' then
  if cur and tonumber(cur) <= now then return 0 end
  redis.call('ZADD', KEYS[1], now, ARGV[1])
  return 1
end
if cur and old == ARGV[2] then return 0 end
local a = string.find(ARGV[2], ':', 1, true)
local b = string.find(ARGV[2], ':', a + 1, true)
local iv = tonumber(string.sub(ARGV[2], 1, a - 1))
local phase = tonumber(string.sub(ARGV[2], a + 1, b - 1))
local r = (now - phase) % iv
local slot = now
if r ~= 0 then slot = now - r + iv end
redis.call('ZADD', KEYS[1], slot, ARGV[1])
return 1
"#;

/// Lua: forget a monitor (deleted or paused).
const REMOVE_LUA: &str = r#"
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
return 1
"#;

/// Lua: make a monitor due now. Returns `{state, slot}`: state 1 = due (slot
/// is the one that will run), 2 = in flight (slot runs right after it),
/// -1 = not scheduled.
const CHECK_NOW_LUA: &str = r#"
if redis.call('HEXISTS', KEYS[4], ARGV[1]) == 0 then return {-1, 0} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  local p = redis.call('HGET', KEYS[5], ARGV[1])
  if p then return {2, tonumber(p)} end
  redis.call('HSET', KEYS[5], ARGV[1], string.format('%.0f', now))
  return {2, now}
end
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if cur and tonumber(cur) <= now then return {1, tonumber(cur)} end
redis.call('ZADD', KEYS[1], now, ARGV[1])
return {1, now}
"#;

/// The phase of a monitor on its grid: FNV-1a of the id bytes modulo the
/// interval, so monitors sharing an interval spread evenly and the phase
/// never changes across restarts.
pub fn phase_ms(id: Uuid, interval_ms: u64) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash % interval_ms.max(1)
}

/// A slot (Unix milliseconds) as a timestamp.
pub fn slot_time(slot_ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(slot_ms).unwrap_or_else(chrono::Utc::now)
}

/// How long a lease on a check with this timeout lasts.
pub fn lease_for(timeout: Duration) -> Duration {
    timeout + LEASE_MARGIN
}

/// What the schedule needs to know about one monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub id: Uuid,
    pub interval_seconds: u32,
    pub timeout_seconds: u32,
}

impl Entry {
    /// The schedule entry of a stored monitor.
    pub fn of(monitor: &crate::model::Monitor) -> Self {
        Self {
            id: monitor.id,
            interval_seconds: monitor.spec.interval_seconds,
            timeout_seconds: monitor.spec.timeout_seconds,
        }
    }

    /// The `interval_ms:phase_ms:lease_ms` text kept in the spec hash.
    pub fn spec(&self) -> String {
        let interval_ms = u64::from(self.interval_seconds.max(1)) * 1000;
        let lease = lease_for(Duration::from_secs(u64::from(self.timeout_seconds)));
        format!(
            "{interval_ms}:{}:{}",
            phase_ms(self.id, interval_ms),
            lease.as_millis()
        )
    }
}

/// One claimed check: the monitor, the slot (fencing token) and the lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub monitor_id: Uuid,
    /// The slot, in Unix milliseconds.
    pub slot_ms: i64,
    /// How long the lease lasts from `claimed_at_ms`.
    pub lease_ms: i64,
    /// Redis' clock when the claim was made, in Unix milliseconds.
    pub claimed_at_ms: i64,
}

/// What one claim call did.
#[derive(Debug, Clone, Default)]
pub struct ClaimBatch {
    pub claims: Vec<Claim>,
    /// Expired leases made due again by this call.
    pub reaped: u32,
    /// False when the epoch key is missing: the schedule must be rebuilt.
    pub epoch_present: bool,
    /// Milliseconds from Redis' clock until the earliest monitor still
    /// waiting is due (zero if overdue), or None when nothing waits.
    pub next_due_in_ms: Option<i64>,
}

/// Outcome of an acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    /// Rescheduled to the next grid slot.
    Rescheduled,
    /// A check-now arrived while in flight; due again at once.
    CheckNowPending,
    /// The lease was lost (reaped or the schedule rebuilt); nothing changed.
    LeaseLost,
    /// The monitor was removed from the schedule meanwhile.
    Removed,
}

/// Outcome of a check-now request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckNow {
    /// Due now; the check of this slot (or a later one) answers the request.
    Due { slot_ms: i64 },
    /// In flight; one more check at this slot runs right after it.
    AfterInFlight { slot_ms: i64 },
    /// The monitor is not scheduled (paused or unknown).
    NotScheduled,
}

/// Key names of one shard.
#[derive(Debug, Clone)]
struct ShardKeys {
    due: String,
    lease: String,
    owner: String,
    spec: String,
    now: String,
    epoch: String,
    rebuild_lock: String,
    reconcile_lock: String,
    wake: String,
}

impl ShardKeys {
    fn new(keys: &Keys, shard: u16) -> Self {
        let tag = keys.shard_tag(shard);
        Self {
            due: format!("{tag}:due"),
            lease: format!("{tag}:lease"),
            owner: format!("{tag}:owner"),
            spec: format!("{tag}:spec"),
            now: format!("{tag}:now"),
            epoch: format!("{tag}:epoch"),
            rebuild_lock: format!("{tag}:rebuild-lock"),
            reconcile_lock: format!("{tag}:reconcile-lock"),
            wake: format!("{tag}:wake"),
        }
    }
}

/// Differences found and repaired by a reconciliation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Repairs {
    /// Monitors added or whose interval/timeout changed.
    pub upserted: usize,
    /// Monitors that were scheduled but are deleted or paused.
    pub removed: usize,
}

/// The schedule of one shard, with its scripts loaded.
#[derive(Clone)]
pub struct Schedule {
    keys: ShardKeys,
    claim: std::sync::Arc<Script>,
    ack: std::sync::Arc<Script>,
    release: std::sync::Arc<Script>,
    upsert: std::sync::Arc<Script>,
    remove: std::sync::Arc<Script>,
    check_now: std::sync::Arc<Script>,
}

impl std::fmt::Debug for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schedule")
            .field("keys", &self.keys)
            .finish()
    }
}

type Result<T> = std::result::Result<T, redis::RedisError>;

async fn conn(pool: &Pool) -> Result<deadpool_redis::Connection> {
    pool.get().await.map_err(|e| {
        redis::RedisError::from((
            redis::ErrorKind::Io,
            "Redis pool",
            format!("no connection: {e}"),
        ))
    })
}

impl Schedule {
    /// The schedule for `shard` under the key prefix of `keys`.
    pub fn new(keys: &Keys, shard: u16) -> Self {
        let script = |src| std::sync::Arc::new(Script::new(src));
        Self {
            keys: ShardKeys::new(keys, shard),
            claim: script(CLAIM_LUA),
            ack: script(ACK_LUA),
            release: script(RELEASE_LUA),
            upsert: script(UPSERT_LUA),
            remove: script(REMOVE_LUA),
            check_now: script(CHECK_NOW_LUA),
        }
    }

    /// The shard's keys in the order every script expects them.
    fn keys(&self) -> [&str; 6] {
        let k = &self.keys;
        [&k.due, &k.lease, &k.owner, &k.spec, &k.now, &k.epoch]
    }

    /// An invocation of `script` with the shard's keys.
    fn invoke<'a>(&'a self, script: &'a Script) -> redis::ScriptInvocation<'a> {
        let mut invocation = script.prepare_invoke();
        for key in self.keys() {
            invocation.key(key);
        }
        invocation
    }

    /// The pub/sub channel that wakes idle workers.
    pub fn wake_channel(&self) -> &str {
        &self.keys.wake
    }

    /// Reaps expired leases and claims up to `max` due monitors for `worker`.
    pub async fn claim(&self, pool: &Pool, worker: &str, max: usize) -> Result<ClaimBatch> {
        let mut c = conn(pool).await?;
        let reply: Vec<redis::Value> = self
            .invoke(&self.claim)
            .arg(worker)
            .arg(max)
            .arg(REAP_LIMIT)
            .invoke_async(&mut c)
            .await?;
        let int = |v: &redis::Value| -> i64 {
            match v {
                redis::Value::Int(i) => *i,
                _ => 0,
            }
        };
        let now = reply.first().map(int).unwrap_or(0);
        let mut batch = ClaimBatch {
            claims: Vec::new(),
            reaped: u32::try_from(reply.get(1).map(int).unwrap_or(0)).unwrap_or(0),
            epoch_present: reply.get(2).map(int).unwrap_or(0) == 1,
            next_due_in_ms: reply
                .get(3)
                .map(int)
                .filter(|next| *next >= 0)
                .map(|next| (next - now).max(0)),
        };
        for chunk in reply.get(4..).unwrap_or_default().chunks_exact(3) {
            let id = match &chunk[0] {
                redis::Value::BulkString(bytes) => std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|s| Uuid::parse_str(s).ok()),
                _ => None,
            };
            if let Some(monitor_id) = id {
                batch.claims.push(Claim {
                    monitor_id,
                    slot_ms: int(&chunk[1]),
                    lease_ms: int(&chunk[2]),
                    claimed_at_ms: now,
                });
            }
        }
        Ok(batch)
    }

    /// Acknowledges a finished check and schedules the next slot.
    pub async fn ack(&self, pool: &Pool, worker: &str, claim: &Claim) -> Result<AckOutcome> {
        let mut c = conn(pool).await?;
        let code: i64 = self
            .invoke(&self.ack)
            .arg(claim.monitor_id.to_string())
            .arg(worker)
            .arg(claim.slot_ms)
            .invoke_async(&mut c)
            .await?;
        Ok(match code {
            1 => AckOutcome::Rescheduled,
            2 => AckOutcome::CheckNowPending,
            -1 => AckOutcome::Removed,
            _ => AckOutcome::LeaseLost,
        })
    }

    /// Gives a lease back unfinished (shutdown); the slot is due again at once.
    pub async fn release(&self, pool: &Pool, worker: &str, claim: &Claim) -> Result<bool> {
        let mut c = conn(pool).await?;
        let code: i64 = self
            .invoke(&self.release)
            .arg(claim.monitor_id.to_string())
            .arg(worker)
            .arg(claim.slot_ms)
            .invoke_async(&mut c)
            .await?;
        Ok(code == 1)
    }

    /// Schedules a monitor or applies a changed interval/timeout. With
    /// `due_now` it is checked at once (new or resumed monitors).
    pub async fn upsert(&self, pool: &Pool, entry: &Entry, due_now: bool) -> Result<()> {
        let mut c = conn(pool).await?;
        let _: i64 = self
            .upsert_invocation(entry, due_now)
            .invoke_async(&mut c)
            .await?;
        if due_now {
            let _: i64 = c.publish(&self.keys.wake, "1").await?;
        }
        Ok(())
    }

    fn upsert_invocation(&self, entry: &Entry, due_now: bool) -> redis::ScriptInvocation<'_> {
        let mut invocation = self.invoke(&self.upsert);
        invocation
            .arg(entry.id.to_string())
            .arg(entry.spec())
            .arg(if due_now { "1" } else { "0" });
        invocation
    }

    /// Upserts many entries (waiting for their grid slots) in pipelines.
    async fn upsert_many(
        &self,
        c: &mut deadpool_redis::Connection,
        entries: &[Entry],
    ) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let hash: String = self.upsert.prepare_invoke().load_async(c).await?;
        for chunk in entries.chunks(500) {
            let mut pipe = redis::pipe();
            for entry in chunk {
                let keys = self.keys();
                pipe.cmd("EVALSHA")
                    .arg(&hash)
                    .arg(keys.len())
                    .arg(&keys[..])
                    .arg(entry.id.to_string())
                    .arg(entry.spec())
                    .arg("0")
                    .ignore();
            }
            let () = pipe.query_async(c).await?;
        }
        Ok(())
    }

    /// Removes a monitor from the schedule (deleted or paused). A check in
    /// flight finishes, but its acknowledgement schedules nothing.
    pub async fn remove(&self, pool: &Pool, id: Uuid) -> Result<()> {
        let mut c = conn(pool).await?;
        self.remove_with(&mut c, id).await
    }

    async fn remove_with(&self, c: &mut deadpool_redis::Connection, id: Uuid) -> Result<()> {
        let _: i64 = self
            .invoke(&self.remove)
            .arg(id.to_string())
            .invoke_async(c)
            .await?;
        Ok(())
    }

    /// Makes a monitor due now and wakes idle workers.
    pub async fn check_now(&self, pool: &Pool, id: Uuid) -> Result<CheckNow> {
        let mut c = conn(pool).await?;
        let (state, slot_ms): (i64, i64) = self
            .invoke(&self.check_now)
            .arg(id.to_string())
            .invoke_async(&mut c)
            .await?;
        let outcome = match state {
            1 => CheckNow::Due { slot_ms },
            2 => CheckNow::AfterInFlight { slot_ms },
            _ => return Ok(CheckNow::NotScheduled),
        };
        let _: i64 = c.publish(&self.keys.wake, "1").await?;
        Ok(outcome)
    }

    /// True when the schedule was built from Postgres since Redis last lost it.
    pub async fn epoch_present(&self, pool: &Pool) -> Result<bool> {
        let mut c = conn(pool).await?;
        c.exists(&self.keys.epoch).await
    }

    /// Takes the rebuild lock for `worker`; false when another holds it.
    pub async fn try_lock_rebuild(&self, pool: &Pool, worker: &str) -> Result<bool> {
        self.try_lock(pool, &self.keys.rebuild_lock, worker, REBUILD_LOCK_TTL_MS)
            .await
    }

    /// Takes the reconciliation lock for `ttl`; false when another worker
    /// reconciled (or is reconciling) within that time.
    pub async fn try_lock_reconcile(
        &self,
        pool: &Pool,
        worker: &str,
        ttl: Duration,
    ) -> Result<bool> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        self.try_lock(pool, &self.keys.reconcile_lock, worker, ttl_ms)
            .await
    }

    async fn try_lock(&self, pool: &Pool, key: &str, worker: &str, ttl_ms: u64) -> Result<bool> {
        let mut c = conn(pool).await?;
        let reply: Option<String> = redis::cmd("SET")
            .arg(key)
            .arg(worker)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms)
            .query_async(&mut c)
            .await?;
        Ok(reply.is_some())
    }

    /// Writes the whole schedule from `entries` (the enabled monitors in
    /// Postgres), then marks it complete with the epoch key.
    pub async fn rebuild(&self, pool: &Pool, entries: &[Entry]) -> Result<()> {
        let mut c = conn(pool).await?;
        self.upsert_many(&mut c, entries).await?;
        let stamp = chrono::Utc::now().timestamp_millis();
        let () = redis::cmd("SET")
            .arg(&self.keys.epoch)
            .arg(stamp)
            .query_async(&mut c)
            .await?;
        let () = redis::cmd("DEL")
            .arg(&self.keys.rebuild_lock)
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    /// Repairs every difference between `entries` (the enabled monitors in
    /// Postgres) and the schedule: missing or changed monitors are upserted,
    /// monitors neither due nor leased are made due, and anything scheduled
    /// that is not enabled in Postgres is removed.
    pub async fn reconcile(&self, pool: &Pool, entries: &[Entry]) -> Result<Repairs> {
        let mut c = conn(pool).await?;
        let specs: HashMap<String, String> = c.hgetall(&self.keys.spec).await?;
        let due: HashSet<String> = c.zrange(&self.keys.due, 0, -1).await?;
        let leased: HashSet<String> = c.zrange(&self.keys.lease, 0, -1).await?;
        let mut repairs = Repairs::default();
        let mut wanted = HashSet::with_capacity(entries.len());
        let mut upserts = Vec::new();
        for entry in entries {
            let id = entry.id.to_string();
            let correct = specs.get(&id).is_some_and(|s| *s == entry.spec());
            if !correct || !(due.contains(&id) || leased.contains(&id)) {
                upserts.push(*entry);
            }
            wanted.insert(id);
        }
        self.upsert_many(&mut c, &upserts).await?;
        repairs.upserted = upserts.len();
        let stray: HashSet<&String> = specs
            .keys()
            .chain(due.iter())
            .chain(leased.iter())
            .filter(|id| !wanted.contains(*id))
            .collect();
        for id in stray {
            if let Ok(id) = Uuid::parse_str(id) {
                self.remove_with(&mut c, id).await?;
                repairs.removed += 1;
            } else {
                let () = redis::pipe()
                    .zrem(&self.keys.due, id)
                    .ignore()
                    .zrem(&self.keys.lease, id)
                    .ignore()
                    .hdel(&self.keys.spec, id)
                    .ignore()
                    .query_async(&mut c)
                    .await?;
                repairs.removed += 1;
            }
        }
        Ok(repairs)
    }

    /// Counts of due and leased monitors (for gauges and tests).
    pub async fn sizes(&self, pool: &Pool) -> Result<(usize, usize)> {
        let mut c = conn(pool).await?;
        let due: usize = c.zcard(&self.keys.due).await?;
        let leased: usize = c.zcard(&self.keys.lease).await?;
        Ok((due, leased))
    }

    /// The slot a monitor is due at, if it is waiting (tests and diagnostics).
    pub async fn due_slot(&self, pool: &Pool, id: Uuid) -> Result<Option<i64>> {
        let mut c = conn(pool).await?;
        let score: Option<f64> = c.zscore(&self.keys.due, id.to_string()).await?;
        #[allow(clippy::cast_possible_truncation)]
        Ok(score.map(|s| s as i64))
    }
}

/// Loads the schedule entries of every enabled monitor from Postgres.
pub async fn load_entries(client: &deadpool_postgres::Client) -> anyhow::Result<Vec<Entry>> {
    let rows = client
        .query(
            "SELECT id, interval_seconds, timeout_seconds FROM monitors WHERE enabled",
            &[],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let interval: i32 = row.try_get(1)?;
            let timeout: i32 = row.try_get(2)?;
            Ok(Entry {
                id: row.try_get(0)?,
                interval_seconds: u32::try_from(interval).unwrap_or(1),
                timeout_seconds: u32::try_from(timeout).unwrap_or(1),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_stable_and_within_the_interval() {
        let id = Uuid::parse_str("0190f5c1-0000-7000-8000-000000000001").expect("uuid");
        assert_eq!(phase_ms(id, 60_000), phase_ms(id, 60_000));
        assert!(phase_ms(id, 60_000) < 60_000);
        assert_eq!(phase_ms(id, 1), 0);
    }

    #[test]
    fn phases_spread_monitors_sharing_an_interval() {
        let mut buckets = [0u32; 10];
        for _ in 0..10_000 {
            let phase = phase_ms(Uuid::now_v7(), 10_000);
            buckets[usize::try_from(phase / 1000).unwrap_or(0)] += 1;
        }
        // Each tenth of the interval gets roughly a tenth of the monitors.
        assert!(
            buckets.iter().all(|b| (700..=1300).contains(b)),
            "{buckets:?}"
        );
    }

    #[test]
    fn spec_text_carries_interval_phase_and_lease() {
        let id = Uuid::now_v7();
        let entry = Entry {
            id,
            interval_seconds: 30,
            timeout_seconds: 10,
        };
        let phase = phase_ms(id, 30_000);
        assert_eq!(entry.spec(), format!("30000:{phase}:15000"));
    }
}
