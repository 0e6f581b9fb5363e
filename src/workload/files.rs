//! The files the `file` workloads read: written before the timed region,
//! warmed or dropped from the page cache, checked, and removed afterwards.
//!
//! One file per task, so that no task reads from a cache another task
//! warmed, in a temporary directory on a disk-backed file system (a tmpfs
//! keeps files in memory, so nothing could be cold there). Byte k of task
//! i's file is byte k of the latency server's reply i
//! ([`crate::workload::pattern::reply_byte`]), so a task checks every byte it reads.
//!
//! *Warm*: every file is read once before the timed region. *Cold*: the
//! data is written back (`syncfs`), then every file's pages are dropped with
//! `posix_fadvise(POSIX_FADV_DONTNEED)`, which only drops clean pages. Both
//! then count the pages still resident with `mincore`, so the record says
//! whether cold really was cold; where it was not (a tmpfs, a kernel that
//! kept the pages), the note says why instead of pretending.
//!
//! The ideal needs one bare read: [`TaskFiles::bare_read_us`] reads 16
//! calibration files of the same size back to back with `std::fs::read` on
//! this thread (dropped first, for cold cells), and divides the fastest of
//! three passes by 16.

use crate::record::result::CacheState;
use crate::workload::{task_file, MAX_FILES_BYTES};
use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Calibration files, read bare one after another for the ideal: enough
/// different files that one pass is not one file's luck.
const CALIBRATION_FILES: usize = 16;
/// Timed passes over the calibration files; the fastest counts.
const CALIBRATION_PASSES: usize = 3;

/// `f_type` of a tmpfs in `statfs` (linux/magic.h).
const TMPFS_MAGIC: i64 = 0x0102_1994;

/// Bytes a file cell writes: one file per task plus the calibration files,
/// each `file_kib` KiB.
pub fn files_bytes(tasks: u64, file_kib: u64) -> u64 {
    (tasks.saturating_add(CALIBRATION_FILES as u64))
        .saturating_mul(file_kib)
        .saturating_mul(1024)
}

/// The one rule for how much a file cell may write, checked by `run` and
/// `sweep` before anything runs and by the cell itself: the task files and
/// the calibration files together fit in [`MAX_FILES_BYTES`].
pub fn check_fit(tasks: u64, file_kib: u64) -> Result<(), String> {
    let total = files_bytes(tasks, file_kib);
    if total <= MAX_FILES_BYTES {
        return Ok(());
    }
    Err(format!(
        "the file workloads write one file per task plus {CALIBRATION_FILES} calibration files: \
         ({tasks} + {CALIBRATION_FILES}) × {file_kib} KiB = {} MiB is more than the {} MiB a \
         cell may write; lower --tasks or --file-kib (at most {} KiB with {tasks} task{})",
        total.div_ceil(1 << 20),
        MAX_FILES_BYTES >> 20,
        MAX_FILES_BYTES / 1024 / tasks.saturating_add(CALIBRATION_FILES as u64),
        if tasks == 1 { "" } else { "s" }
    ))
}

/// The task files of one repeat; the directory is removed when dropped.
pub struct TaskFiles {
    dir: tempfile::TempDir,
    tasks: usize,
    bytes: u64,
}

impl TaskFiles {
    /// Writes one file of `bytes` bytes for each of `tasks` tasks, plus the
    /// calibration files, in a new temporary directory on a disk-backed file
    /// system. Not timed.
    pub fn write(tasks: u64, bytes: u64) -> anyhow::Result<TaskFiles> {
        check_fit(tasks, bytes / 1024).map_err(anyhow::Error::msg)?;
        let total = files_bytes(tasks, bytes / 1024);
        let parent = disk_backed_temp_dir();
        let available = available_bytes(&parent);
        if let Some(available) = available.filter(|a| *a < total.saturating_mul(2)) {
            anyhow::bail!(
                "the file workload needs {} MiB in {} and only {} MiB are free; lower --tasks \
                 or --file-kib, or set TMPDIR to a roomier disk",
                total >> 20,
                parent.display(),
                available >> 20
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("async-vs-blocking-files-")
            .tempdir_in(&parent)
            .with_context(|| {
                format!(
                    "creating a directory for the task files in {}",
                    parent.display()
                )
            })?;
        let pattern = crate::workload::pattern::reply_pattern(CHUNK_BYTES);
        for index in 0..tasks as usize + CALIBRATION_FILES {
            let path = if index < tasks as usize {
                task_file(dir.path(), index)
            } else {
                calibration_file(dir.path(), index - tasks as usize)
            };
            write_file(&path, index as u64, bytes, &pattern)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(TaskFiles {
            dir,
            tasks: tasks as usize,
            bytes,
        })
    }

    /// The directory the task files are in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Brings the files into the state the cell asks for — read once
    /// (warm) or dropped from the page cache (cold) — times the bare read
    /// the ideal is made of, and says how many pages are resident now.
    pub fn prepare(&self, cold: bool) -> anyhow::Result<CacheState> {
        let file_system = file_system_name(self.dir());
        let mut note = None;
        if cold {
            if file_system == "tmpfs" {
                note = Some(
                    "the files are on a tmpfs, which keeps them in memory: they cannot be \
                     dropped, so these reads were warm (set TMPDIR to a disk-backed directory)"
                        .to_string(),
                );
            }
            self.write_back()?;
        }
        // The bare reads first: for a warm cell they also warm the calibration files.
        let bare_read_us = self.bare_read_us(cold)?;
        let paths: Vec<PathBuf> = (0..self.tasks).map(|i| task_file(self.dir(), i)).collect();
        let mut failed_drops = 0;
        for path in &paths {
            if cold {
                if drop_pages(path).is_err() {
                    failed_drops += 1;
                }
            } else {
                std::fs::read(path).with_context(|| format!("warming {}", path.display()))?;
            }
        }
        let mut resident_pages = 0;
        let mut total_pages = 0;
        for path in &paths {
            let (resident, total) = resident_pages_of(path, self.bytes)
                .with_context(|| format!("counting the cached pages of {}", path.display()))?;
            resident_pages += resident;
            total_pages += total;
        }
        let mut state = CacheState {
            cold,
            resident_pages,
            total_pages,
            bare_read_us,
            file_system,
            note,
        };
        if cold && !state.really_cold() && state.note.is_none() {
            let failed = if failed_drops > 0 {
                format!(" ({failed_drops} drops failed)")
            } else {
                String::new()
            };
            state.note = Some(format!(
                "cold was asked for, but {:.0} % of the files' pages were still in the page \
                 cache after posix_fadvise(DONTNEED){failed}: these reads were partly warm",
                state.resident_share() * 100.0
            ));
        }
        Ok(state)
    }

    /// Writes every dirty page of the file system back, so that the pages
    /// are clean and `POSIX_FADV_DONTNEED` can drop them: one `syncfs`
    /// instead of a `fsync` per file.
    fn write_back(&self) -> anyhow::Result<()> {
        let dir = std::fs::File::open(self.dir())
            .with_context(|| format!("opening {}", self.dir().display()))?;
        use std::os::fd::AsRawFd;
        // SAFETY: syncfs takes a descriptor we own and touches no memory of ours.
        if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
            return Err(std::io::Error::last_os_error()).context("syncfs on the task files");
        }
        Ok(())
    }

    /// One bare `std::fs::read` of a file this size, µs: one thread reads
    /// the calibration files back to back, as many different files as a
    /// cell's tasks read (each its own inode, its own pages), and the
    /// fastest of a few passes is divided by their number. For `cold`, every
    /// pass starts with the files dropped from the page cache; warm passes
    /// follow one untimed pass that brings them in.
    fn bare_read_us(&self, cold: bool) -> anyhow::Result<f64> {
        let paths: Vec<PathBuf> = (0..CALIBRATION_FILES)
            .map(|index| calibration_file(self.dir(), index))
            .collect();
        let read_all = || -> anyhow::Result<()> {
            for path in &paths {
                let contents =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                anyhow::ensure!(
                    contents.len() as u64 == self.bytes,
                    "{} has {} bytes, expected {}",
                    path.display(),
                    contents.len(),
                    self.bytes
                );
            }
            Ok(())
        };
        if !cold {
            read_all()?;
        }
        let mut fastest = f64::INFINITY;
        for _ in 0..CALIBRATION_PASSES {
            if cold {
                for path in &paths {
                    let _ = drop_pages(path);
                }
            }
            let start = Instant::now();
            read_all()?;
            fastest = fastest.min(start.elapsed().as_secs_f64() * 1e6);
        }
        Ok(fastest / CALIBRATION_FILES as f64)
    }
}

/// Bytes written per `write` call while creating the files.
const CHUNK_BYTES: usize = 64 * 1024;

fn calibration_file(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("calibration-{index}"))
}

/// Writes file `id`: byte k is [`crate::workload::pattern::reply_byte`]`(id, k)`.
fn write_file(path: &Path, id: u64, bytes: u64, pattern: &[u8]) -> std::io::Result<()> {
    let mut file =
        std::io::BufWriter::with_capacity(CHUNK_BYTES, crate::os::output::create_file(path)?);
    let mut offset = 0;
    while offset < bytes {
        let chunk = (bytes - offset).min(CHUNK_BYTES as u64) as usize;
        let start = crate::workload::pattern::pattern_start(id, offset);
        file.write_all(&pattern[start..start + chunk])?;
        offset += chunk as u64;
    }
    file.flush()
}

/// Asks the kernel to drop a file's clean pages from the page cache.
fn drop_pages(path: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path)?;
    // SAFETY: posix_fadvise takes a descriptor we own and touches no memory of ours.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if rc != 0 {
        return Err(std::io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// (resident pages, pages) of a file of `bytes` bytes, from `mincore` on a
/// read-only mapping (mapping faults nothing in; `mincore` only looks).
fn resident_pages_of(path: &Path, bytes: u64) -> std::io::Result<(u64, u64)> {
    use std::os::fd::AsRawFd;
    if bytes == 0 {
        return Ok((0, 0));
    }
    // SAFETY: sysconf only reads a constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    let pages = bytes.div_ceil(page);
    let file = std::fs::File::open(path)?;
    // SAFETY: a fresh private read-only mapping of a file we hold open; it is
    // only passed to mincore and unmapped before returning.
    unsafe {
        let address = libc::mmap(
            std::ptr::null_mut(),
            bytes as usize,
            libc::PROT_READ,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        );
        if address == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let mut vector = vec![0u8; pages as usize];
        let rc = libc::mincore(address, bytes as usize, vector.as_mut_ptr());
        let error = std::io::Error::last_os_error();
        libc::munmap(address, bytes as usize);
        if rc != 0 {
            return Err(error);
        }
        let resident = vector.iter().filter(|byte| **byte & 1 == 1).count() as u64;
        Ok((resident, pages))
    }
}

/// The temporary directory, unless it is a tmpfs (nothing there can be
/// cold): then `/var/tmp`, which is on disk by convention, when it is not
/// a tmpfs either.
fn disk_backed_temp_dir() -> PathBuf {
    let temp = std::env::temp_dir();
    if file_system_name(&temp) != "tmpfs" {
        return temp;
    }
    let var_tmp = PathBuf::from("/var/tmp");
    if var_tmp.is_dir() && file_system_name(&var_tmp) != "tmpfs" {
        return var_tmp;
    }
    temp
}

/// A short name of the file system `path` is on (`statfs`'s magic number).
// `f_type`'s type differs between architectures (a cast is a no-op on some).
#[allow(clippy::unnecessary_cast)]
fn file_system_name(path: &Path) -> String {
    match statfs(path) {
        Some(stat) if stat.f_type as i64 == TMPFS_MAGIC => "tmpfs".into(),
        Some(stat) => match stat.f_type as i64 {
            0xEF53 => "ext4".into(),
            0x5846_5342 => "xfs".into(),
            0x9123_683E => "btrfs".into(),
            0x794C_7630 => "overlayfs".into(),
            other => format!("file system {other:#x}"),
        },
        None => "unknown file system".into(),
    }
}

/// Bytes free for an unprivileged writer on the file system of `path`.
// The field types differ between architectures (a cast is a no-op on some).
#[allow(clippy::unnecessary_cast)]
fn available_bytes(path: &Path) -> Option<u64> {
    statfs(path).map(|stat| stat.f_bavail as u64 * stat.f_bsize as u64)
}

fn statfs(path: &Path) -> Option<libc::statfs> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statfs writes into the zeroed struct we own; the path is a valid C string.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    (unsafe { libc::statfs(path.as_ptr(), &mut stat) } == 0).then_some(stat)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::pattern::ReplyCheck;

    #[test]
    fn task_files_hold_their_pattern_and_go_away() {
        let files = TaskFiles::write(3, 5000).unwrap();
        let dir = files.dir().to_path_buf();
        for index in 0..3 {
            let contents = std::fs::read(task_file(&dir, index)).unwrap();
            let mut check = ReplyCheck::new(index as u64, 5000);
            check.feed(&contents);
            check.finish().unwrap();
        }
        drop(files);
        assert!(!dir.exists());
    }

    #[test]
    fn warm_files_are_resident_and_cold_ones_are_dropped_or_explained() {
        let files = TaskFiles::write(4, 64 * 1024).unwrap();
        let warm = files.prepare(false).unwrap();
        assert!(warm.total_pages >= 4, "{warm:?}");
        assert_eq!(warm.resident_pages, warm.total_pages);
        assert!(warm.bare_read_us > 0.0 && warm.note.is_none());
        let cold = files.prepare(true).unwrap();
        // Either the drop worked, or the record says why it did not.
        assert!(cold.really_cold() || cold.note.is_some(), "{cold:?}");
    }

    #[test]
    fn too_many_bytes_are_refused_with_what_to_lower() {
        let error = TaskFiles::write(1_000_000, 64 * 1024 * 1024)
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("lower --tasks or --file-kib"), "{error}");
    }
}
