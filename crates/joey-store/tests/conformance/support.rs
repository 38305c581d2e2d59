use joey_store::SqlStore;

pub struct TestStore {
    pub store: SqlStore,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("meta.db").display());
    let store = SqlStore::connect(&url).await.expect("open sqlite");
    TestStore { store, url, _dir: Some(dir) }
}

pub async fn postgres() -> TestStore {
    let admin = std::env::var("JOEY_TEST_POSTGRES_URL")
        .expect("JOEY_TEST_POSTGRES_URL must point at a PostgreSQL server for the postgres conformance tests");
    sqlx::any::install_default_drivers();
    let name = format!("joey_test_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::AnyPool::connect(&admin).await.expect("connect to postgres");
    sqlx::query(&format!("create database {name}")).execute(&pool).await.expect("create database");
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(admin.clone());
    let url = format!("{base}/{name}");
    let store = SqlStore::connect(&url).await.expect("open postgres");
    TestStore { store, url, _dir: None }
}
