//! A PostgreSQL cluster of a test's own, for tests that stop, restart or break the server:
//! never the shared one on 5432.
//!
//! Built with Debian's `pg_createcluster` (trust authentication; `ssl = on` with the snakeoil
//! certificate, as Debian's createcluster.conf does by default), on a free port; every command
//! is bounded in time, and the cluster is stopped and dropped when the value is dropped, even
//! when the test panics.

use std::{
    process::Command,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

/// The PostgreSQL major version the machine's cluster tools manage.
const VERSION: &str = "15";
/// The longest any cluster command may take.
const COMMAND_LIMIT: Duration = Duration::from_secs(60);

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A running cluster of the test's own.
pub struct Cluster {
    name: String,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

/// Whether this machine can make clusters (Debian's postgresql-common, PostgreSQL 15).
pub fn available() -> bool {
    Command::new("pg_lsclusters")
        .output()
        .is_ok_and(|out| out.status.success())
        && std::path::Path::new("/usr/lib/postgresql")
            .join(VERSION)
            .join("bin/initdb")
            .exists()
}

/// Runs a cluster tool, killed after [`COMMAND_LIMIT`]; panics with its output on failure.
fn run(program: &str, args: &[&str]) {
    let limit = format!("{}s", COMMAND_LIMIT.as_secs());
    let output = Command::new("timeout")
        .arg(&limit)
        .arg(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A cluster name no other test of this process (or another one) uses.
fn fresh_name() -> String {
    format!(
        "annals_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Cluster {
    /// Creates and starts a cluster; `settings` are extra `-o name=value` server settings.
    pub fn start(settings: &[&str]) -> Self {
        let name = fresh_name();
        let port = free_port();
        let port_text = port.to_string();
        let mut args = vec![VERSION, name.as_str(), "-p", port_text.as_str()];
        for setting in settings {
            args.push("-o");
            args.push(setting);
        }
        args.extend(["--", "--auth=trust"]);
        // From here on Drop removes whatever was made.
        let cluster = Self {
            name: name.clone(),
            port,
        };
        run("pg_createcluster", &args);
        cluster.ctl("start");
        cluster
    }

    /// Creates and starts a streaming replica of `primary`: a cluster of its own whose data
    /// directory is a `pg_basebackup -R` of the primary (hot standby, replaying its WAL).
    pub fn replica_of(primary: &Cluster) -> Self {
        let name = fresh_name();
        let port = free_port().to_string();
        let cluster = Self {
            name: name.clone(),
            port: port.parse().expect("a port"),
        };
        run(
            "pg_createcluster",
            &[VERSION, &name, "-p", &port, "--", "--auth=trust"],
        );
        let data = format!("/var/lib/postgresql/{VERSION}/{name}");
        // pg_basebackup fills an empty directory (the parent is not the postgres user's).
        for entry in std::fs::read_dir(&data).expect("the replica's data directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            }
            .expect("empty the replica's data directory");
        }
        let primary_port = primary.port.to_string();
        run(
            "runuser",
            &[
                "-u",
                "postgres",
                "--",
                "pg_basebackup",
                "-h",
                "127.0.0.1",
                "-p",
                &primary_port,
                "-U",
                "postgres",
                "-D",
                &data,
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ],
        );
        cluster.ctl("start");
        cluster
    }

    /// Runs `sql` on this cluster's `postgres` database (e.g. `pg_wal_replay_pause()`).
    pub async fn execute(&self, sql: &str) {
        use sea_orm::ConnectionTrait;
        let admin = sea_orm::Database::connect(self.url("postgres"))
            .await
            .expect("connect to the test cluster");
        admin
            .execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        admin.close().await.ok();
    }

    fn ctl(&self, action: &str) {
        run(
            "pg_ctlcluster",
            &["--skip-systemctl-redirect", VERSION, &self.name, action],
        );
    }

    /// Stops the server (fast shutdown: sessions are terminated).
    pub fn stop(&self) {
        self.ctl("stop");
    }

    /// Starts the stopped server; returns once it accepts connections.
    pub fn resume(&self) {
        self.ctl("start");
    }

    /// The URL of database `db` on this cluster (TLS preferred, as by default).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates database `db`.
    pub async fn create_database(&self, db: &str) {
        use sea_orm::ConnectionTrait;
        let admin = sea_orm::Database::connect(self.url("postgres"))
            .await
            .expect("connect to the test cluster");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {db}"))
            .await
            .expect("create a database on the test cluster");
        admin.close().await.ok();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let output = Command::new("timeout")
            .arg(format!("{}s", COMMAND_LIMIT.as_secs()))
            .args(["pg_dropcluster", "--stop", VERSION, &self.name])
            .output();
        if !output.as_ref().is_ok_and(|o| o.status.success()) {
            eprintln!("could not drop test cluster {}: {output:?}", self.name);
        }
    }
}
