//! The harness switch `TUFLOG_TEST_STORE=postgres`: every server the harness starts
//! keeps its log in PostgreSQL instead of RocksDB, in a database of its own per data
//! directory (created on first use and kept for restarts on that directory), in one
//! private cluster for the test binary (`testkit::postgres::Cluster::shared`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// Whether servers started by the harness keep their log in PostgreSQL.
pub fn enabled() -> bool {
    std::env::var("TUFLOG_TEST_STORE").is_ok_and(|v| v == "postgres")
}

fn databases() -> &'static Mutex<HashMap<PathBuf, String>> {
    static DATABASES: OnceLock<Mutex<HashMap<PathBuf, String>>> = OnceLock::new();
    DATABASES.get_or_init(Default::default)
}

/// Copies the log of the server on `from` (stopped) for a server on `to`, when the
/// switch is on: what copying the data directory does for RocksDB.
pub fn copy(from: &Path, to: &Path) {
    if !enabled() {
        return;
    }
    let mut databases = databases().lock().unwrap();
    let url = databases
        .get(from)
        .expect("no database for that directory")
        .clone();
    let copy = testkit::postgres::Cluster::shared()
        .unwrap()
        .copy_database(&url)
        .unwrap();
    databases.insert(to.to_path_buf(), copy);
}

/// The database settings for a server on `dir`, when the switch is on.
pub fn database_for(dir: &Path) -> Option<server::DatabaseConfig> {
    if !enabled() {
        return None;
    }
    let mut databases = databases().lock().unwrap();
    let url = match databases.get(dir) {
        Some(url) => url.clone(),
        None => {
            let url = testkit::postgres::Cluster::shared()
                .unwrap()
                .fresh_database()
                .unwrap();
            databases.insert(dir.to_path_buf(), url.clone());
            url
        }
    };
    Some(server::DatabaseConfig {
        url: zeroize::Zeroizing::new(url),
        advertise: String::new(),
    })
}
