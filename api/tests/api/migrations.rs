use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::helpers::{admin_url, test_config};

/// An empty database that is dropped again at the end.
struct EmptyDatabase {
    name: String,
}

impl EmptyDatabase {
    async fn create() -> Self {
        let name = format!("uptime_test_{}", Uuid::new_v4().simple());
        let (admin, conn) = tokio_postgres::connect(&admin_url(), NoTls).await.unwrap();
        tokio::spawn(conn);
        admin
            .execute(&format!("CREATE DATABASE \"{name}\""), &[])
            .await
            .unwrap();
        Self { name }
    }

    async fn connect(&self) -> tokio_postgres::Client {
        let mut url = url::Url::parse(&admin_url()).unwrap();
        url.set_path(&format!("/{}", self.name));
        let (client, conn) = tokio_postgres::connect(url.as_str(), NoTls).await.unwrap();
        tokio::spawn(conn);
        client
    }

    async fn drop_now(self) {
        let (admin, conn) = tokio_postgres::connect(&admin_url(), NoTls).await.unwrap();
        tokio::spawn(conn);
        admin
            .execute(
                &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
                &[],
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn two_processes_migrating_at_once_both_succeed() {
    let db = EmptyDatabase::create().await;
    let config = test_config(&db.name, &[]);
    let (a, b, c) = tokio::join!(
        shared::db::migrate(&config),
        shared::db::migrate(&config),
        shared::db::migrate(&config)
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    let client = db.connect().await;
    let applied: i64 = client
        .query_one("SELECT count(*) FROM refinery_schema_history", &[])
        .await
        .unwrap()
        .get(0);
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations"))
        .unwrap()
        .count();
    assert_eq!(
        applied,
        i64::try_from(files).unwrap(),
        "each migration applied exactly once"
    );
    db.drop_now().await;
}

#[tokio::test]
async fn check_results_are_partitioned_by_day_and_late_partitions_adopt_rows() {
    let db = EmptyDatabase::create().await;
    shared::db::migrate(&test_config(&db.name, &[]))
        .await
        .unwrap();
    let client = db.connect().await;
    let partitions: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'check_results'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        partitions >= 9,
        "yesterday, today, a week ahead and the default: {partitions}"
    );

    // A row for a day without a partition lands in the default partition...
    let monitor = Uuid::now_v7();
    client
        .execute(
            "INSERT INTO check_results (monitor_id, slot_ts, checked_at, status, total_ms) \
             VALUES ($1, '2031-03-04T10:00:00Z', now(), 'up', 1.5)",
            &[&monitor],
        )
        .await
        .unwrap();
    // ...and moves into the day's partition when it is created, once.
    let created: i32 = client
        .query_one(
            "SELECT uptime_ensure_check_result_partitions('2031-03-04', '2031-03-04')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(created, 1);
    let in_day: i64 = client
        .query_one("SELECT count(*) FROM check_results_20310304", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(in_day, 1);
    let in_default: i64 = client
        .query_one("SELECT count(*) FROM check_results_default", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(in_default, 0);
    // The slot is the fencing token: a second write of the same slot is refused.
    let duplicate = client
        .execute(
            "INSERT INTO check_results (monitor_id, slot_ts, checked_at, status, total_ms) \
             VALUES ($1, '2031-03-04T10:00:00Z', now(), 'down', 2.0)",
            &[&monitor],
        )
        .await;
    assert!(duplicate.is_err());
    // Dropping a day is a partition drop, not a bulk DELETE.
    client
        .execute("DROP TABLE check_results_20310304", &[])
        .await
        .unwrap();
    db.drop_now().await;
}
