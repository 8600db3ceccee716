//! Cleaned outside text against a real PostgreSQL: whatever bytes come in,
//! what comes out is accepted as `text` and inside `jsonb`, unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use shared::outside_text::{clean_bytes, clean_json};

async fn connect() -> tokio_postgres::Client {
    let url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://uptime:uptime@127.0.0.1:5432/postgres".to_owned());
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect to TEST_DATABASE_URL");
    tokio::spawn(connection);
    client
}

/// Byte strings weighted toward what breaks storage: NUL, other controls,
/// bytes that are never valid UTF-8, and truncated multi-byte sequences.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            3 => any::<u8>(),
            2 => Just(0u8),
            1 => 0x01u8..0x20,
            1 => 0x80u8..=0xff,
            1 => Just(b'\\'),
        ],
        0..3000,
    )
}

#[tokio::test]
async fn cleaned_text_is_accepted_by_postgres_as_text_and_in_jsonb() {
    let client = connect().await;
    let statement = client
        .prepare("SELECT $1::text, jsonb_build_object('v', $1::text, $1::text, 1), $2::jsonb")
        .await
        .unwrap();
    // The property is not vacuous: the uncleaned text is refused.
    let raw = String::from_utf8_lossy(b"ok\0ok").into_owned();
    let refused = client
        .query_one(&statement, &[&raw, &serde_json::json!({})])
        .await;
    assert!(refused.is_err(), "PostgreSQL refuses a NUL in text");

    let mut runner = TestRunner::deterministic();
    let strategy = hostile_bytes();
    for _ in 0..400 {
        let bytes = strategy.new_tree(&mut runner).unwrap().current();
        let cleaned = clean_bytes(&bytes, 1024).text.into_owned();
        assert!(cleaned.len() <= 1024);
        let mut json =
            serde_json::json!({ cleaned.clone(): [cleaned.clone(), {"k": cleaned.clone()}] });
        clean_json(&mut json, 1024);
        let row = client
            .query_one(&statement, &[&cleaned, &json])
            .await
            .unwrap_or_else(|e| panic!("{bytes:?} -> {cleaned:?} refused: {e}"));
        assert_eq!(
            row.get::<_, String>(0),
            cleaned,
            "text round-trips unchanged"
        );
        assert_eq!(
            row.get::<_, serde_json::Value>(2),
            json,
            "jsonb round-trips unchanged"
        );
    }
}
