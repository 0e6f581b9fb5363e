//! Pinning every thread of this process to one core, for as long as a guard
//! lives.
//!
//! Switching between two threads (or two tasks on two workers) usually
//! crosses cores: the waker writes a flag, the other core is woken from
//! idle, caches move. Pinned to one core, the same hand-off is a plain
//! switch on one core. Comparing the two shows how much of a "context
//! switch" is really inter-core communication.
//!
//! What is pinned, exactly: [`OneCore::pin_process`] lists
//! `/proc/self/task` and calls `sched_setaffinity` on every thread it finds
//! (the caller, runtime workers already started, async-io's reactor thread,
//! the benchmark harness's own threads), restricting each to the first CPU
//! the caller may run on. Threads created while the guard lives inherit that
//! mask from their creator. Dropping the guard gives every thread still alive
//! its previous mask back (threads born during the pin get the caller's
//! previous mask). Linux only; elsewhere pinning reports an error and the
//! pinned cases are skipped.

/// Every thread of the process held on one CPU until this is dropped.
pub struct OneCore {
    /// The CPU everything runs on.
    pub cpu: usize,
    #[cfg(target_os = "linux")]
    saved: Vec<(libc::pid_t, libc::cpu_set_t)>,
    #[cfg(target_os = "linux")]
    caller_before: libc::cpu_set_t,
}

impl std::fmt::Debug for OneCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneCore").field("cpu", &self.cpu).finish()
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use super::OneCore;
    use anyhow::Context;

    fn get(tid: libc::pid_t) -> std::io::Result<libc::cpu_set_t> {
        // SAFETY: cpu_set_t is plain data; the kernel fills at most its size.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(set)
        }
    }

    fn set(tid: libc::pid_t, set: &libc::cpu_set_t) -> std::io::Result<()> {
        // SAFETY: `set` is a valid cpu_set_t of the size passed.
        unsafe {
            if libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }

    fn threads() -> anyhow::Result<Vec<libc::pid_t>> {
        let mut tids = Vec::new();
        for entry in std::fs::read_dir("/proc/self/task").context("listing /proc/self/task")? {
            let name = entry.context("reading /proc/self/task")?.file_name();
            if let Some(tid) = name.to_str().and_then(|s| s.parse().ok()) {
                tids.push(tid);
            }
        }
        Ok(tids)
    }

    /// The CPUs in `mask`, lowest first.
    pub(super) fn cpus(mask: &libc::cpu_set_t) -> Vec<usize> {
        (0..libc::CPU_SETSIZE as usize)
            // SAFETY: the index is below CPU_SETSIZE.
            .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, mask) })
            .collect()
    }

    /// The CPUs the calling thread may run on now.
    pub fn current_cpus() -> anyhow::Result<Vec<usize>> {
        Ok(cpus(&get(0).context("reading this thread's CPU affinity")?))
    }

    impl OneCore {
        /// Pins every thread of the process to the first CPU the calling
        /// thread may use.
        pub fn pin_process() -> anyhow::Result<OneCore> {
            let caller_before = get(0).context("reading this thread's CPU affinity")?;
            let cpu = *cpus(&caller_before)
                .first()
                .context("this thread may run on no CPU")?;
            // SAFETY: cpu_set_t is plain data; CPU_SET writes below CPU_SETSIZE.
            let one = unsafe {
                let mut one: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(cpu, &mut one);
                one
            };
            let mut guard = OneCore {
                cpu,
                saved: Vec::new(),
                caller_before,
            };
            for tid in threads()? {
                // A thread that exits between the listing and here is fine.
                let Ok(before) = get(tid) else { continue };
                match set(tid, &one) {
                    Ok(()) => guard.saved.push((tid, before)),
                    Err(error) if error.raw_os_error() == Some(libc::ESRCH) => {}
                    Err(error) => {
                        // Dropping the guard restores the threads pinned so far.
                        return Err(error)
                            .with_context(|| format!("pinning thread {tid} to CPU {cpu}"));
                    }
                }
            }
            Ok(guard)
        }
    }

    impl Drop for OneCore {
        fn drop(&mut self) {
            let saved = std::mem::take(&mut self.saved);
            let Ok(now) = threads() else {
                for (tid, before) in &saved {
                    let _ = set(*tid, before);
                }
                return;
            };
            for tid in now {
                let before = saved
                    .iter()
                    .find(|(saved_tid, _)| *saved_tid == tid)
                    .map(|(_, before)| before)
                    .unwrap_or(&self.caller_before);
                let _ = set(tid, before);
            }
        }
    }
}

#[cfg(target_os = "linux")]
pub use imp::current_cpus;

#[cfg(not(target_os = "linux"))]
impl OneCore {
    /// Pinning needs Linux's `sched_setaffinity`.
    pub fn pin_process() -> anyhow::Result<OneCore> {
        anyhow::bail!("pinning to one core is only implemented on Linux")
    }
}

/// The CPUs the calling thread may run on now (unknown off Linux).
#[cfg(not(target_os = "linux"))]
pub fn current_cpus() -> anyhow::Result<Vec<usize>> {
    anyhow::bail!("CPU affinity is only read on Linux")
}
