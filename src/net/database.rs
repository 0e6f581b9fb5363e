//! A throwaway PostgreSQL cluster, started by the lab and removed on every
//! path: the real database behind the `db` workload and the `db` command.
//!
//! The cluster is looked after by a keeper: the lab's own binary run as
//! `<lab> db-keeper` in its own process group. The keeper makes a fresh
//! directory under the temporary directory, runs Debian's `initdb` and
//! `postgres` (the server refuses to run as root, so as root they run as
//! the `postgres` user the package creates, or as `nobody`), listens on
//! 127.0.0.1 on a free port and nowhere else (no Unix socket), loads a
//! generated table with [`load_sql`], prints one JSON line ([`Ready`]) and
//! then waits for its standard input to close. Whatever ends the lab — a
//! normal end, Ctrl-C, a `kill -9` — closes that pipe (the kernel closes a
//! dead process's descriptors), and the keeper stops the server (a fast
//! shutdown, then SIGKILL to its process group) and removes the directory.
//! If the keeper itself is killed, the server dies with it
//! (`PR_SET_PDEATHSIG`); only its directory would then stay, in the
//! temporary directory, named `avb-postgres-*`.
//!
//! [`Database`] is the lab's side: a guard whose drop closes the pipe and
//! waits for the keeper to have cleaned up.

use crate::os::process::{die_with_parent, kill_group};
pub use crate::workload::db::{expected_sum, load_sql, DEFAULT_ROWS, MAX_ROWS};
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The hidden subcommand that runs the keeper.
pub const KEEPER_SUBCOMMAND: &str = "db-keeper";

/// The database role the lab connects as (trusted: the server listens on
/// loopback only, and lives as long as the run).
pub const USER: &str = "lab";

/// The database the lab connects to.
pub const DBNAME: &str = "postgres";

/// How many connections the server accepts: the largest pool the lab
/// offers, with room for the Python mirror's threads and `psql`.
pub const MAX_CONNECTIONS: u32 = 300;

/// The prefix of every cluster directory, in the temporary directory.
pub const DIR_PREFIX: &str = "avb-postgres-";

/// How long initdb, start and load may take together.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// How long the server may take for a fast shutdown before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What the keeper prints once the database is ready.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ready {
    /// Where the server listens (127.0.0.1 and a free port).
    pub addr: SocketAddr,
    /// `SELECT version()`.
    pub version: String,
    /// The cluster's directory (removed when the keeper ends).
    pub dir: PathBuf,
    /// Rows in the `items` table.
    pub rows: u64,
    /// initdb and start, until the server accepted a query, ms.
    pub start_ms: f64,
    /// Loading and indexing the table, ms.
    pub load_ms: f64,
    /// The user the server runs as.
    pub os_user: String,
}

impl Ready {
    /// The database as a cell's spec carries it.
    pub fn target(&self) -> crate::workload::db::Target {
        crate::workload::db::Target {
            addr: self.addr,
            rows: self.rows,
            version: self.version.clone(),
        }
    }

    /// A libpq connection URL for every driver and `psql`.
    pub fn url(&self) -> String {
        url(self.addr)
    }
}

/// The libpq URL of the lab's database at `addr`.
pub fn url(addr: SocketAddr) -> String {
    format!("postgresql://{USER}@{addr}/{DBNAME}")
}

/// The lab's side of a running database: dropping it stops the server
/// and removes its directory, and waits until both are done.
pub struct Database {
    keeper: Child,
    stdin: Option<ChildStdin>,
    /// What the keeper reported.
    pub ready: Ready,
}

impl Database {
    /// Starts `<exe> db-keeper --rows N` and waits until the database is
    /// loaded and answers.
    pub fn start(exe: &Path, rows: u64) -> anyhow::Result<Database> {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(exe);
        command
            .args([KEEPER_SUBCOMMAND, "--rows", &rows.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            // Its own group: the terminal's Ctrl-C reaches the lab, and the
            // keeper hears of it when the lab's end closes its stdin.
            .process_group(0);
        let mut keeper = command
            .spawn()
            .with_context(|| format!("starting `{} {KEEPER_SUBCOMMAND}`", exe.display()))?;
        let stdin = keeper.stdin.take();
        let stdout = keeper.stdout.take().context("the keeper's stdout")?;
        let (line_sent, line_read) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = line_sent.send(reader.read_line(&mut line).map(|_| line));
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let mut database = Database {
            keeper,
            stdin,
            ready: Ready {
                addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                version: String::new(),
                dir: PathBuf::new(),
                rows,
                start_ms: 0.0,
                load_ms: 0.0,
                os_user: String::new(),
            },
        };
        let line = match line_read.recv_timeout(START_TIMEOUT + Duration::from_secs(5)) {
            Ok(Ok(line)) if !line.trim().is_empty() => line,
            _ => {
                bail!("the PostgreSQL keeper did not report a ready database (its error is above)")
            }
        };
        database.ready = serde_json::from_str(line.trim())
            .with_context(|| format!("the keeper printed {:?}", line.trim()))?;
        Ok(database)
    }

    /// The keeper's process id (its process group's, too).
    pub fn keeper_pid(&self) -> u32 {
        self.keeper.id()
    }

    /// Stops the server, removes its directory and returns how long that took.
    pub fn stop(mut self) -> Duration {
        let started = Instant::now();
        self.stop_inner();
        started.elapsed()
    }

    fn stop_inner(&mut self) {
        // Closing the pipe is the keeper's signal to clean up.
        let Some(stdin) = self.stdin.take() else {
            return;
        };
        drop(stdin);
        let deadline = Instant::now() + STOP_GRACE + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.keeper.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        kill_group(self.keeper.id());
        let _ = self.keeper.wait();
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// Where Debian installs PostgreSQL's programs: `$AVB_PG_BIN` if set, else
/// the newest `/usr/lib/postgresql/*/bin` that has `initdb`.
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("AVB_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => Ok(bin),
        None => bail!(
            "PostgreSQL is not installed: the `db` workload needs Debian's `postgresql` \
             package (`apt-get install postgresql`; version 15 on these machines), or \
             AVB_PG_BIN naming the directory of its initdb and postgres"
        ),
    }
}

/// True when PostgreSQL's programs are installed (for tests and `list`).
pub fn installed() -> bool {
    bin_dir().is_ok()
}

/// The user the server runs as: none (this user) unless the lab runs as
/// root, which PostgreSQL refuses; then `postgres`, else `nobody`.
struct OsUser {
    name: String,
    uid: u32,
    gid: u32,
}

fn os_user() -> anyhow::Result<Option<OsUser>> {
    // SAFETY: geteuid takes nothing and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    for name in ["postgres", "nobody"] {
        let c_name = std::ffi::CString::new(name).expect("no NUL in a constant");
        // SAFETY: getpwnam reads a NUL-terminated name; the entry it returns
        // is read at once, before any other call could overwrite it.
        let entry = unsafe { libc::getpwnam(c_name.as_ptr()) };
        if !entry.is_null() {
            // SAFETY: non-null, so it points at a valid passwd entry.
            let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
            return Ok(Some(OsUser {
                name: name.to_string(),
                uid,
                gid,
            }));
        }
    }
    bail!("running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as (PostgreSQL refuses root): create one with `useradd postgres`")
}

/// The keeper: starts the cluster, loads it, reports [`Ready`] on stdout,
/// waits for stdin to close (or SIGINT/SIGTERM, or the server's death),
/// then stops the server and removes the directory. Returns the exit code.
pub fn keeper_main(rows: u64) -> anyhow::Result<i32> {
    crate::os::interrupt::install().context("installing the signal handlers")?;
    let bin = bin_dir()?;
    let user = os_user()?;
    let dir = tempfile::Builder::new()
        .prefix(DIR_PREFIX)
        .tempdir()
        .context("making the cluster's directory")?
        .keep();
    let mut cluster = Cluster {
        dir,
        server: None,
        log: Default::default(),
    };
    let outcome = cluster.run(&bin, user.as_ref(), rows);
    let stopped = cluster.stop();
    if let Err(error) = &outcome {
        crate::os::output::stderr_line!("db-keeper: {error:#}");
    }
    if let Err(error) = &stopped {
        crate::os::output::stderr_line!("db-keeper: {error:#}");
    }
    Ok(if outcome.is_ok() && stopped.is_ok() {
        0
    } else {
        1
    })
}

/// The cluster's directory and server, as the keeper holds them.
struct Cluster {
    dir: PathBuf,
    server: Option<Child>,
    /// The server's last lines of output (its log), for error messages.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// How many of the server's last log lines the keeper keeps.
const LOG_LINES_KEPT: usize = 20;

impl Cluster {
    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn as_user(command: &mut Command, user: Option<&OsUser>) {
        use std::os::unix::process::CommandExt;
        if let Some(user) = user {
            command.uid(user.uid).gid(user.gid);
        }
    }

    fn run(&mut self, bin: &Path, user: Option<&OsUser>, rows: u64) -> anyhow::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::process::CommandExt;
        let started = Instant::now();
        if let Some(user) = user {
            std::os::unix::fs::chown(&self.dir, Some(user.uid), Some(user.gid))
                .with_context(|| format!("handing {} to {}", self.dir.display(), user.name))?;
        }
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))?;
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(self.data())
            .args(["-U", USER, "--auth=trust", "-E", "UTF8", "--locale=C"])
            .args(["--no-sync", "--no-instructions"])
            .current_dir(&self.dir)
            .stdin(Stdio::null());
        Self::as_user(&mut initdb, user);
        let output = initdb.output().context("running initdb")?;
        if !output.status.success() {
            bail!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }

        let port = free_port()?;
        let mut postgres = Command::new(bin.join("postgres"));
        postgres
            .arg("-D")
            .arg(self.data())
            .args(["-p", &port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "unix_socket_directories="])
            .args(["-c", &format!("max_connections={MAX_CONNECTIONS}")])
            // A throwaway cluster: nothing needs to survive a crash.
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off"])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // Its log: kept in memory (the last lines), nothing written.
            .stderr(Stdio::piped())
            .process_group(0);
        Self::as_user(&mut postgres, user);
        die_with_parent(&mut postgres);
        let mut server = postgres.spawn().context("starting postgres")?;
        if let Some(stderr) = server.stderr.take() {
            let log = std::sync::Arc::clone(&self.log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut kept = log.lock().unwrap_or_else(|e| e.into_inner());
                    if kept.len() == LOG_LINES_KEPT {
                        kept.remove(0);
                    }
                    kept.push(line);
                }
            });
        }
        self.server = Some(server);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        self.wait_until_ready(bin, addr, started)?;
        let start_ms = started.elapsed().as_secs_f64() * 1e3;

        let loading = Instant::now();
        psql(bin, addr, &load_sql(rows)).context("loading the items table")?;
        let load_ms = loading.elapsed().as_secs_f64() * 1e3;
        let version = psql(bin, addr, "SELECT version()")?.trim().to_string();
        let ready = Ready {
            addr,
            version,
            dir: self.dir.clone(),
            rows,
            start_ms,
            load_ms,
            os_user: user.map_or_else(|| "(this user)".into(), |u| u.name.clone()),
        };
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{}", serde_json::to_string(&ready)?)?;
        stdout.flush()?;
        self.wait_for_the_end()
    }

    fn wait_until_ready(
        &mut self,
        bin: &Path,
        addr: SocketAddr,
        started: Instant,
    ) -> anyhow::Result<()> {
        loop {
            if let Some(status) = self
                .server
                .as_mut()
                .and_then(|s| s.try_wait().ok().flatten())
            {
                self.server = None;
                bail!(
                    "postgres exited ({status}) before accepting connections: {}",
                    self.log_tail()
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
                && psql(bin, addr, "SELECT 1").is_ok()
            {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT || crate::os::interrupt::requested() {
                bail!(
                    "postgres did not accept a query within {} s: {}",
                    START_TIMEOUT.as_secs(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_tail(&self) -> String {
        // Give the reader a moment to collect what a dying server wrote.
        std::thread::sleep(Duration::from_millis(100));
        let kept = self.log.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter()
            .rev()
            .map(|line| line.trim())
            .find(|line| !line.is_empty())
            .unwrap_or("its log is empty")
            .to_string()
    }

    /// Waits until stdin closes, a stop signal arrives or the server dies.
    fn wait_for_the_end(&mut self) -> anyhow::Result<()> {
        let (closed, stdin_closed) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            let mut sink = [0u8; 64];
            let mut stdin = std::io::stdin();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            let _ = closed.send(());
        });
        loop {
            match stdin_closed.recv_timeout(Duration::from_millis(50)) {
                Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if crate::os::interrupt::requested() {
                return Ok(());
            }
            if let Some(status) = self
                .server
                .as_mut()
                .and_then(|s| s.try_wait().ok().flatten())
            {
                self.server = None;
                bail!(
                    "postgres exited ({status}) while the lab used it: {}",
                    self.log_tail()
                );
            }
        }
    }

    /// A fast shutdown (SIGINT: abort transactions, close connections), then
    /// SIGKILL to the server's group if it takes too long; then the directory.
    fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut server) = self.server.take() {
            // SAFETY: kill takes no pointers; the server has not been reaped.
            unsafe {
                libc::kill(server.id() as libc::pid_t, libc::SIGINT);
            }
            let deadline = Instant::now() + STOP_GRACE;
            let mut exited = false;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = server.try_wait() {
                    exited = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            // Backends left behind by a crashed server are in its group.
            kill_group(server.id());
            if !exited {
                let _ = server.wait();
            }
        }
        std::fs::remove_dir_all(&self.dir)
            .with_context(|| format!("removing {}", self.dir.display()))
    }
}

/// A free TCP port on 127.0.0.1 (the kernel's choice, released at once).
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Runs SQL with `psql` (no .psqlrc, stop at the first error) and returns
/// its unaligned, tuples-only output.
pub fn psql(bin: &Path, addr: SocketAddr, sql: &str) -> anyhow::Result<String> {
    let output = Command::new(bin.join("psql"))
        .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"])
        .arg("-d")
        .arg(url(addr))
        .args(["-c", sql])
        .stdin(Stdio::null())
        .output()
        .context("running psql")?;
    if !output.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_names_the_lab_role() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 5555));
        assert_eq!(url(addr), "postgresql://lab@127.0.0.1:5555/postgres");
    }
}
