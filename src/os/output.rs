//! Every file the lab writes lies inside the output directory (`--out`).
//!
//! [`path_in`] is the one function that joins a file name onto an output
//! directory; it refuses anything but a plain file name, so no `..`, no
//! separator and no absolute path can lead a write outside `--out`. Names that
//! come from input files (a record's workload, a claim's id) pass through
//! [`safe_name`] first: a slug of allowed characters plus a short hash, so two
//! different names never share a file and nothing read from a file chooses
//! where the lab writes.
//!
//! It is also the one place that opens an output file for writing (a test
//! greps for writers elsewhere). [`replace_file`] writes a whole file to a
//! temporary name of its own in the same directory (the process id and a
//! counter: two writers never share one) and renames it into place, so a
//! reader sees the old file or the new one, never half of one, a full disk
//! leaves the old file whole, and a symlink at the name is replaced, never
//! followed. [`open_append`] appends without following a symlink, and
//! [`lock_output_dir`] keeps a second run out of a directory a first is
//! still writing. [`write_stderr`] prints to stderr
//! without panicking when stderr is gone.
//!
//! [`write_stdout`] is how commands print: a stdout that cannot be written
//! (`list > /dev/full`) becomes one error line and exit code 1 instead of a
//! panic. (A closed descriptor 1 never reaches it: Rust's start-up opens
//! /dev/null in its place; a reader that goes away ends the lab by SIGPIPE,
//! quietly, as it ends `cat`.)

use crate::os::error::UsageError;
use anyhow::{bail, Context};
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// `eprintln!` that never panics: a line for the operator is lost, not the
/// run, when stderr is a full disk or a pipe whose reader has gone (a
/// server must still stop on SIGTERM, a sweep still measure).
macro_rules! stderr_line {
    ($($arg:tt)*) => {
        $crate::os::output::write_stderr(::std::format_args!($($arg)*))
    };
}
pub(crate) use stderr_line;

/// Writes `text` and a newline to stderr; a failed write is ignored (see
/// [`stderr_line!`]).
pub fn write_stderr(text: std::fmt::Arguments) {
    let mut stderr = io::stderr().lock();
    let _ = stderr.write_fmt(text);
    let _ = stderr.write_all(b"\n");
    let _ = stderr.flush();
}

/// Longest name [`safe_name`] keeps unchanged; longer ones are cut and hashed
/// (file systems allow 255 bytes, and the caller adds an extension).
const MAX_NAME_CHARS: usize = 80;

/// `out/name`, where `name` must be one plain file name.
pub fn path_in(out: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let mut components = Path::new(name).components();
    match (components.next(), components.next()) {
        (Some(Component::Normal(plain)), None) if plain == name && !name.contains('/') => {
            Ok(out.join(name))
        }
        _ => bail!(
            "refusing to write {name:?}: a file inside {} must have a plain name",
            out.display()
        ),
    }
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// A file-safe form of `raw`: unchanged when it is already short and made of
/// ASCII letters, digits, `-`, `_` and `.` (not leading); otherwise the allowed
/// characters (others become `-`) cut to a short length, plus 8 hex digits of
/// a hash of the whole name.
pub fn safe_name(raw: &str) -> String {
    let plain = !raw.is_empty()
        && raw.len() <= MAX_NAME_CHARS
        && !raw.starts_with('.')
        && raw.chars().all(allowed);
    if plain {
        return raw.to_string();
    }
    let mut slug = String::new();
    for c in raw.chars() {
        let c = if allowed(c) { c } else { '-' };
        if !(c == '-' && slug.ends_with('-')) {
            slug.push(c);
        }
    }
    let slug: String = slug
        .trim_matches(|c| c == '-' || c == '.')
        .chars()
        .take(MAX_NAME_CHARS - 9)
        .collect();
    if slug.is_empty() {
        format!("{:08x}", fnv1a(raw))
    } else {
        format!("{slug}-{:08x}", fnv1a(raw))
    }
}

/// FNV-1a, folded to 32 bits: stable across runs and platforms, so a
/// report's file names do not change between runs.
fn fnv1a(text: &str) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash ^ (hash >> 32)) as u32
}

/// Fails early, as a usage error, when results could not be written to `dir`.
pub fn check_writable(dir: &Path) -> anyhow::Result<()> {
    let refuse = |why: String| -> anyhow::Error {
        UsageError(format!(
            "error: cannot write to the output directory {}: {why} (choose another with --out)",
            dir.display()
        ))
        .into()
    };
    // `create_dir_all` says only "File exists" for these: say what is there.
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() && !dir.exists() => {
            return Err(refuse("it is a symbolic link to nothing".into()))
        }
        Ok(_) if dir.exists() && !dir.is_dir() => {
            return Err(refuse("it is a file, not a directory".into()))
        }
        _ => {}
    }
    let probe = path_in(dir, &temporary_name(".write-test"))?;
    let outcome = std::fs::create_dir_all(dir).and_then(|_| create_new(&probe).map(drop));
    let _ = std::fs::remove_file(&probe);
    outcome.map_err(|error| refuse(error.to_string()))
}

/// A name for a temporary file beside `name` that no other writer uses:
/// this process's id and a counter.
fn temporary_name(name: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates a file that must not exist yet (never through a symlink).
fn create_new(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Replaces `path` with `bytes` (see [`replace_file_with`]).
pub fn replace_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    replace_file_with(path, |file| file.write_all(bytes))
}

/// Replaces `path` with what `fill` writes: into a temporary file of this
/// writer's own in the same directory, synced, then renamed over `path`.
/// A symlink at `path` is replaced, not followed; on any failure the
/// temporary file is removed, `path` is left as it was and the error names
/// `path`.
pub fn replace_file_with(
    path: &Path,
    fill: impl FnOnce(&mut io::BufWriter<File>) -> io::Result<()>,
) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("output");
    let tmp = dir.join(temporary_name(name));
    let outcome = create_new(&tmp).and_then(|file| {
        let mut writer = io::BufWriter::new(file);
        fill(&mut writer)?;
        let file = writer.into_inner().map_err(|error| error.into_error())?;
        file.sync_data()?;
        std::fs::rename(&tmp, path)
    });
    if outcome.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    outcome.with_context(|| format!("writing {}", path.display()))
}

/// Opens `path` for appending (creating it), never through a symlink: a
/// link at an output's name is an error, not a way out of `--out`.
pub fn open_append(path: &Path) -> anyhow::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

/// Creates (or truncates) `path` for a writer that streams into it, never
/// through a symlink. For files that are not results (the file workloads'
/// task files in their own temporary directory).
pub fn create_file(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// The name of the lock file [`lock_output_dir`] holds in `--out`.
pub const LOCK_FILE: &str = ".async-vs-blocking.lock";

/// An exclusive lock on an output directory, held until dropped (or the
/// process ends: the kernel releases it, so a killed run leaves no stale lock).
#[derive(Debug)]
pub struct OutputLock {
    _file: File,
}

/// Locks `dir` for this run: a second run writing into the same directory
/// would interleave its records with ours and share our files, so it is
/// refused in one line (exit 2) while we hold the lock.
pub fn lock_output_dir(dir: &Path) -> anyhow::Result<OutputLock> {
    let path = path_in(dir, LOCK_FILE)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if locked != 0 {
        let error = io::Error::last_os_error();
        if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
            return Err(UsageError(format!(
                "error: another run is writing to {} (it holds {}); wait for it to finish or \
                 choose another --out",
                dir.display(),
                path.display()
            ))
            .into());
        }
        return Err(error).with_context(|| format!("locking {}", path.display()));
    }
    Ok(OutputLock { _file: file })
}

/// True when `a` and `b` name the same existing file (a hard link, a
/// symlink or another spelling of the path included).
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Writes `text` (and a newline) to stdout and flushes, so a failed write is
/// seen here, as an error.
pub fn write_stdout(text: std::fmt::Arguments, newline: bool) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_fmt(text)
        .and_then(|_| {
            if newline {
                out.write_all(b"\n")
            } else {
                Ok(())
            }
        })
        .and_then(|_| out.flush())
        .map_err(|error| anyhow::anyhow!("writing to stdout: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_join_the_output_directory() {
        let out = Path::new("reports");
        assert_eq!(path_in(out, "a.svg").unwrap(), out.join("a.svg"));
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "/etc/passwd",
            "wall-/../../x.svg",
        ] {
            assert!(path_in(out, bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn names_from_files_become_safe_distinct_file_names() {
        assert_eq!(safe_name("wall-sleep"), "wall-sleep");
        let hostile = [
            "../../escaped",
            "/../../ESCAPED",
            "wall-/../../ESCAPED",
            &"x".repeat(300),
            "a b",
            "a/b",
            "a\\b",
            "ünïcode",
            "",
            "..",
            ".hidden",
            "a\nb",
        ];
        let mut seen = std::collections::HashSet::new();
        for raw in hostile {
            let name = safe_name(raw);
            assert!(name.len() <= MAX_NAME_CHARS, "{name}");
            assert!(
                name.chars().all(allowed) && !name.starts_with('.'),
                "{name}"
            );
            let with_extension = format!("{name}.svg");
            assert!(path_in(Path::new("out"), &with_extension).is_ok(), "{name}");
            assert!(seen.insert(name.clone()), "{raw:?} collides as {name}");
        }
        // The same name maps to the same file on every run.
        assert_eq!(safe_name("a/b"), safe_name("a/b"));
    }
}
