//! Child processes the lab starts (cells, latency servers, HTTP servers):
//! tying their life to the lab's and stopping a whole process group. Cells
//! and servers both need these, so they live here, below both.

use std::process::Command;

/// Makes the child started by `command` receive SIGKILL when the thread
/// that starts it ends, so no cell or server outlives a killed lab.
pub fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id();
    // SAFETY: the closure runs in the forked child before exec; it only makes
    // async-signal-safe system calls (prctl, getppid) and does not allocate.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent died before the line above took effect.
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// Sends SIGKILL to a whole process group (no-op if it is already gone).
pub fn kill_group(pgid: u32) {
    // SAFETY: kill with a negative pid signals the group; no memory is involved.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), libc::SIGKILL);
    }
}
