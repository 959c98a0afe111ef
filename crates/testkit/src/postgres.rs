//! A private PostgreSQL cluster for one test: its own data directory in a temporary
//! directory, listening on 127.0.0.1 at a free port, stopped on drop.
//!
//! The binaries are the distribution's (`scripts/setup` installs the `postgresql`
//! package), found under `/usr/lib/postgresql/<version>/bin` or by
//! `TUFLOG_TEST_PG_BIN`. `initdb` takes about a second, so it runs once per machine
//! and version: the initialised data directory is kept as a template beside the
//! system's temporary files and copied for each cluster, which then starts in a
//! tenth of a second. PostgreSQL refuses to run as root; as root, every command
//! runs as the `postgres` user the package creates.
//!
//! Test clusters run with `fsync=off`: a test kills tuflog's processes, never the
//! machine, and durability across power loss is PostgreSQL's own to prove.

use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The superuser of every test cluster, trusted on loopback without a password.
pub const USER: &str = "tuflog";

/// A running cluster; stopped, and its files removed, when dropped.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    run_as: Option<String>,
    port: u16,
    running: bool,
    /// Server options beyond the defaults (TLS).
    options: String,
}

fn failed(what: &str, out: &Output) -> io::Error {
    io::Error::other(format!(
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Where the distribution's server binaries are: the newest version installed.
fn bin_dir() -> io::Result<PathBuf> {
    if let Ok(dir) = std::env::var("TUFLOG_TEST_PG_BIN") {
        return Ok(dir.into());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| {
            io::Error::other(format!(
                "PostgreSQL is not installed (/usr/lib/postgresql: {e}): run scripts/setup"
            ))
        })?
        .filter_map(|d| {
            let d = d.ok()?;
            let version = d.file_name().to_str()?.parse().ok()?;
            Some((version, d.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| io::Error::other("no PostgreSQL server binaries: run scripts/setup"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

impl Cluster {
    /// Starts a new, empty cluster.
    pub fn start() -> io::Result<Cluster> {
        Cluster::start_with(None)
    }

    /// Starts a new, empty cluster that takes connections over TCP only with TLS,
    /// with a certificate for `names` (DNS names or IP addresses) issued by a CA
    /// made for it, whose certificate is [`Cluster::ca_cert`].
    pub fn start_tls(names: &[&str]) -> io::Result<Cluster> {
        Cluster::start_with(Some(names))
    }

    /// The PEM file of the CA that issued a [`Cluster::start_tls`] cluster's
    /// certificate.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn start_with(tls_names: Option<&[&str]>) -> io::Result<Cluster> {
        let bin = bin_dir()?;
        let run_as = is_root().then(|| "postgres".to_string());
        let dir = tempfile::Builder::new().prefix("tuflog-pg-").tempdir()?;
        let mut cluster = Cluster {
            dir,
            bin,
            run_as,
            port: 0,
            running: false,
            options: String::new(),
        };
        cluster.give_to_db_user(cluster.dir.path())?;
        if let Some(names) = tls_names {
            cluster.options = cluster.issue_certificate(names)?;
        }
        let template = cluster.template()?;
        cluster.run(
            Command::new("cp")
                .arg("-a")
                .arg(&template)
                .arg(cluster.data()),
            "copying the template cluster",
        )?;
        if tls_names.is_some() {
            // Over TCP, TLS or nothing; the socket stays open for the tools.
            std::fs::write(
                cluster.data().join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            )?;
        }
        // The port is free when chosen, not necessarily when the server binds it.
        let mut attempts = 3;
        loop {
            cluster.port = free_port()?;
            match cluster.pg_ctl_start() {
                Ok(()) => return Ok(cluster),
                Err(e) if attempts == 1 => return Err(e),
                Err(_) => attempts -= 1,
            }
        }
    }

    /// The cluster's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for `database` as the test superuser.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates `database` and returns its URL.
    pub fn create_database(&self, database: &str) -> io::Result<String> {
        let out = Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .arg(database)
            .output()?;
        if !out.status.success() {
            return Err(failed("createdb", &out));
        }
        Ok(self.url(database))
    }

    /// One cluster for the whole test process, started on first use. A static is
    /// never dropped, so a watchdog process stops the cluster and removes its files
    /// once this process has exited.
    pub fn shared() -> io::Result<&'static Cluster> {
        static SHARED: OnceLock<Cluster> = OnceLock::new();
        if let Some(c) = SHARED.get() {
            return Ok(c);
        }
        let cluster = Cluster::start()?;
        cluster.watch_over(std::process::id())?;
        // Another thread may have started one meanwhile; the loser is dropped
        // (stopped) here.
        Ok(SHARED.get_or_init(|| cluster))
    }

    /// Creates a database with a name not used before in this process; returns
    /// its URL.
    pub fn fresh_database(&self) -> io::Result<String> {
        self.create_database(&fresh_name())
    }

    /// Copies the database at `url` (nobody may be connected to it) into a new
    /// one; returns the copy's URL.
    pub fn copy_database(&self, url: &str) -> io::Result<String> {
        let from = url.rsplit('/').next().unwrap_or_default();
        let to = fresh_name();
        // A client that just disconnected may still be ending its session, and
        // PostgreSQL copies no database anyone is connected to.
        let mut attempts = 50;
        loop {
            let out = Command::new(self.bin.join("createdb"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
                .args(["-T", from, &to])
                .output()?;
            if out.status.success() {
                return Ok(self.url(&to));
            }
            attempts -= 1;
            if attempts == 0 {
                return Err(failed("createdb -T", &out));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    fn watch_over(&self, pid: u32) -> io::Result<()> {
        let data = self.data();
        let stop = format!(
            "{} {} -D {} -m immediate stop",
            self.run_as
                .as_ref()
                .map_or_else(String::new, |u| format!("runuser -u {u} --")),
            self.bin.join("pg_ctl").display(),
            data.display()
        );
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {}",
            self.dir.path().display()
        );
        Command::new("setsid")
            .args(["sh", "-c", &script])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        Ok(())
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: like a crash, which a
    /// cluster recovers from at its next start).
    pub fn stop(&mut self) -> io::Result<()> {
        if !self.running {
            return Ok(());
        }
        self.running = false;
        self.run(
            Command::new(self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "stop"]),
            "pg_ctl stop",
        )
    }

    /// Starts the server again after [`Cluster::stop`], on the same port.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop()?;
        self.pg_ctl_start()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Writes a new CA's certificate and a server certificate and key for `names`
    /// it issued; returns the server options that use them.
    fn issue_certificate(&self, names: &[&str]) -> io::Result<String> {
        let files = crate::pki::server_certificate(names)?.write(self.dir.path())?;
        // PostgreSQL reads a key only if no one else can: the database user's own.
        self.give_to_db_user(&files.cert)?;
        self.give_to_db_user(&files.key)?;
        Ok(format!(
            " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            files.cert.display(),
            files.key.display()
        ))
    }

    fn pg_ctl_start(&mut self) -> io::Result<()> {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c max_connections=200{}",
            self.port,
            self.dir.path().display(),
            self.options
        );
        self.run(
            Command::new(self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(self.data())
                .args(["-o", &options, "-l"])
                .arg(self.dir.path().join("log"))
                .args(["-w", "start"]),
            "pg_ctl start",
        )?;
        self.running = true;
        Ok(())
    }

    /// The machine's initialised template for this version, made on first use.
    /// Made aside and renamed into place, so concurrent tests never see half of one.
    fn template(&self) -> io::Result<PathBuf> {
        let version = self
            .bin
            .parent()
            .and_then(|p| p.file_name())
            .map_or_else(|| "pg".into(), |v| v.to_string_lossy().into_owned());
        let root = std::env::temp_dir().join(format!("tuflog-pg-template-{version}"));
        if root.join("data/PG_VERSION").exists() {
            return Ok(root.join("data"));
        }
        let aside = tempfile::Builder::new()
            .prefix("tuflog-pg-template-")
            .tempdir()?
            .keep();
        self.give_to_db_user(&aside)?;
        self.run(
            Command::new(self.bin.join("initdb"))
                .arg("-D")
                .arg(aside.join("data"))
                .args([
                    "-A",
                    "trust",
                    "-U",
                    USER,
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ]),
            "initdb",
        )?;
        if std::fs::rename(&aside, &root).is_err() {
            // Another test made it first.
            let _ = std::fs::remove_dir_all(&aside);
        }
        Ok(root.join("data"))
    }

    fn give_to_db_user(&self, dir: &Path) -> io::Result<()> {
        let Some(user) = &self.run_as else {
            return Ok(());
        };
        let out = Command::new("chown").arg(user).arg(dir).output()?;
        if !out.status.success() {
            return Err(failed("chown", &out));
        }
        Ok(())
    }

    fn run(&self, command: &mut Command, what: &str) -> io::Result<()> {
        let out = match &self.run_as {
            Some(user) => {
                let mut as_user = Command::new("runuser");
                as_user
                    .args(["-u", user, "--"])
                    .arg(command.get_program())
                    .args(command.get_args());
                as_user.output()?
            }
            None => command.output()?,
        };
        if !out.status.success() {
            let mut e = failed(what, &out).to_string();
            if let Ok(log) = std::fs::read_to_string(self.dir.path().join("log")) {
                e.push_str("\nserver log:\n");
                e.push_str(&log);
            }
            return Err(io::Error::other(e));
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn fresh_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("t{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_cluster_starts_takes_connections_and_stops() {
        let mut cluster = Cluster::start().unwrap();
        cluster.create_database("probe").unwrap();
        let port = cluster.port();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        cluster.stop().unwrap();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }
}
