//! Redis: the connection pool and the one place key names are spelled.

use std::time::Duration;

use anyhow::Context;
use deadpool_redis::{Config as PoolConfig, Pool, Runtime};

use crate::config::Config;

/// How long a caller waits for a pooled Redis connection.
const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(3);

/// Builds the pool; connections are opened lazily.
pub fn build_pool(config: &Config) -> anyhow::Result<Pool> {
    let mut pool_config = PoolConfig::from_url(config.redis_url.expose());
    let mut settings = deadpool_redis::PoolConfig::new(config.database_pool_size.max(4));
    settings.timeouts.wait = Some(POOL_WAIT_TIMEOUT);
    settings.timeouts.create = Some(POOL_WAIT_TIMEOUT);
    settings.timeouts.recycle = Some(POOL_WAIT_TIMEOUT);
    pool_config.pool = Some(settings);
    pool_config
        .create_pool(Some(Runtime::Tokio1))
        .map_err(|_| anyhow::anyhow!("REDIS_URL could not be turned into a connection pool"))
        .context("building the Redis pool")
}

/// Checks that a connection can be taken and answers PING.
pub async fn ping(pool: &Pool) -> Result<(), String> {
    let mut conn = pool.get().await.map_err(|e| match e {
        deadpool_redis::PoolError::Timeout(_) => "timed out".to_owned(),
        _ => "connection failed".to_owned(),
    })?;
    let reply: String = redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .map_err(|_| "command failed".to_owned())?;
    if reply == "PONG" {
        Ok(())
    } else {
        Err("unexpected reply".to_owned())
    }
}

/// Key names under one prefix. Every key a single Lua script touches shares a
/// hash tag naming the schedule shard, so the scripts run unchanged on Redis
/// Cluster.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `prefix` (REDIS_KEY_PREFIX).
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The configured prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The hash tag shared by every key of one schedule shard.
    pub fn shard_tag(&self, shard: u16) -> String {
        format!("{{{}sched:{shard}}}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_keys_carry_the_prefix_in_a_hash_tag() {
        let keys = Keys::new("uptime:");
        assert_eq!(keys.shard_tag(0), "{uptime:sched:0}");
    }
}
