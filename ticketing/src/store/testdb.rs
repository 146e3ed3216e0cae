//! Test databases: a fresh SQLite file, and a fresh PostgreSQL database when
//! `HOTLINE_TEST_POSTGRES_URL` names a server (required in CI).

use sqlx::Executor;

use super::{connect_pool, Store};

/// A store on a temporary SQLite file (the directory lives as long as the guard).
pub(crate) async fn sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    (Store::connect(&url).await.expect("sqlite store"), dir)
}

/// A store on a new PostgreSQL database named after the test, or `None`
/// (skipped, with a printed reason) outside CI when no server is configured.
pub(crate) async fn postgres(name: &str) -> Option<Store> {
    let Ok(admin_url) = std::env::var("HOTLINE_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "HOTLINE_TEST_POSTGRES_URL is required in CI (.ci/run starts PostgreSQL)"
        );
        eprintln!("SKIPPED (PostgreSQL half): HOTLINE_TEST_POSTGRES_URL is not set");
        return None;
    };
    let admin = connect_pool(&admin_url).await.expect("postgres admin");
    let db = format!("hotline_tk_{name}_{}", std::process::id());
    admin
        .execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str())
        .await
        .expect("drop");
    admin
        .execute(format!("CREATE DATABASE {db}").as_str())
        .await
        .expect("create");
    admin.close().await;
    let (base, _) = admin_url.rsplit_once('/').expect("url has a database");
    Some(
        Store::connect(&format!("{base}/{db}"))
            .await
            .expect("postgres store"),
    )
}
