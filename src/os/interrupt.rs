//! Ctrl-C and SIGTERM: stop cleanly, lose nothing.
//!
//! Each cell runs in its own process group, so the terminal's Ctrl-C reaches
//! only the lab's own process. [`install`] turns SIGINT and SIGTERM into a
//! flag; the code that waits for a cell's child process polls [`requested`],
//! kills the child's whole group and returns, and the sweep then stops
//! without recording the unfinished cell and exits with [`EXIT_CODE`].
//! Everything finished before is already on disk: each record is appended
//! to `results.jsonl` with a single write, and `results.csv` is replaced
//! atomically.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// The exit code after an interruption (128 + SIGINT, the shell convention).
pub const EXIT_CODE: i32 = 130;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    // Only atomics here: nothing else is safe inside a signal handler.
    SIGNAL.store(signal, Ordering::SeqCst);
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Installs the SIGINT and SIGTERM handlers for this process.
pub fn install() -> std::io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the action is fully initialised; the handler only stores atomics.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// True once SIGINT or SIGTERM has arrived.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// The name of the signal that arrived, if any.
pub fn signal_name() -> Option<&'static str> {
    match SIGNAL.load(Ordering::SeqCst) {
        libc::SIGINT => Some("SIGINT (Ctrl-C)"),
        libc::SIGTERM => Some("SIGTERM"),
        0 => None,
        _ => Some("a signal"),
    }
}
