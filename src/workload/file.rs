//! `file` and `file-cold`: each task reads a file of its own, `--file-kib`
//! KiB, whole, through its model's own file API, and checks every byte.
//!
//! The files are written before the timed region, one per task, so no task
//! reads from a cache another task warmed ([`crate::workload::files`]). `file` reads
//! them from the page cache (every file is read once before the timed
//! region, and the record says how much of them was resident); `file-cold`
//! drops their pages first (`posix_fadvise(POSIX_FADV_DONTNEED)` after the
//! data is on disk) and checks with `mincore` that they are gone, so every
//! read goes to the device. Where the drop cannot work (a tmpfs keeps its
//! files in memory) the record says so instead of pretending.
//!
//! Operating systems offer no readiness for regular files (epoll says a file
//! is always ready), so tokio, async-std and smol hand every read to a pool
//! of blocking threads; monoio submits it to io_uring instead. The ideal is
//! one bare `std::fs::read` of such a file, timed in the cell's own process
//! just before the timed region (warm, or cold for `file-cold`), times
//! ⌈N/P⌉: reading a cached file is copying memory, which needs cores like
//! compute does.

use super::{FileRead, Op, Params, Workload};

/// Reads its own file, warm or cold.
pub struct File {
    /// True for `file-cold`: the files' pages are dropped before the timed region.
    pub cold: bool,
}

impl Workload for File {
    fn name(&self) -> &'static str {
        if self.cold {
            "file-cold"
        } else {
            "file"
        }
    }
    fn description(&self) -> &'static str {
        if self.cold {
            "each task reads its own --file-kib file, dropped from the page cache first, through \
             the model's file API (ideal: ceil(N/P) bare cold reads)"
        } else {
            "each task reads its own --file-kib file from the page cache through the model's \
             file API (ideal: ceil(N/P) bare warm reads)"
        }
    }
    fn uses_sleep(&self) -> bool {
        false
    }
    fn uses_cpu(&self) -> bool {
        false
    }
    fn uses_files(&self) -> bool {
        true
    }
    /// Writing one file per task before every repeat (and, cold, writing them
    /// back to disk) costs far more than the reads: 72 cells of them would
    /// double the default report's minute.
    fn fits_the_quick_profile(&self) -> bool {
        false
    }
    fn ops(&self, params: &Params) -> Vec<Op> {
        vec![Op::ReadFile(FileRead {
            // Empty until the lab has written the files: reading fails clearly.
            dir: std::path::PathBuf::new(),
            bytes: params.file_kib * 1024,
            cold: self.cold,
        })]
    }
}
