//! Descriptor and port limits that decide whether a socket cell can run at all.
//!
//! Every open connection costs one file descriptor in the client and one in
//! the server, and one ephemeral port on loopback. The lab raises its soft
//! descriptor limit to the hard limit at start-up (children inherit it), and
//! refuses a cell that would need more than that before running anything,
//! with an error that names the limit and how to raise it.

/// Descriptors a process needs besides its connections: stdio, pipes to the
/// parent, the reactor's epoll, event and timer descriptors, /proc reads.
pub const RESERVED_DESCRIPTORS: u64 = 64;

/// Raises the soft RLIMIT_NOFILE to the hard limit and returns the new soft
/// limit (the old one if raising failed).
pub fn raise_nofile_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        let mut wanted = limit.rlim_max;
        if wanted == libc::RLIM_INFINITY {
            // The kernel refuses an infinite descriptor limit; fs.nr_open is the ceiling.
            wanted = read_u64("/proc/sys/fs/nr_open").unwrap_or(limit.rlim_cur);
        }
        if wanted > limit.rlim_cur {
            let raised = libc::rlimit {
                rlim_cur: wanted,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return wanted;
            }
        }
    }
    limit.rlim_cur
}

fn read_u64(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The size of the ephemeral port range (`net.ipv4.ip_local_port_range`).
pub fn ephemeral_ports() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut bounds = text.split_whitespace().map(|n| n.parse::<u64>().ok());
    let (low, high) = (bounds.next()??, bounds.next()??);
    Some(high.saturating_sub(low) + 1)
}

/// Checks that `connections` simultaneous loopback connections fit in the
/// descriptor limit `nofile` (of both the client and the server process,
/// which inherit the same limit) and in `ports` ephemeral ports. The error
/// says which limit is too low and how to raise it.
pub fn check_connections(connections: u64, nofile: u64, ports: Option<u64>) -> Result<(), String> {
    check_connections_under(connections, nofile, ports, nr_open())
}

/// The kernel's ceiling on any process's descriptor limit (`fs.nr_open`):
/// no `ulimit -n` can go above it; only root can raise it, with sysctl.
pub fn nr_open() -> Option<u64> {
    read_u64("/proc/sys/fs/nr_open")
}

/// [`check_connections`] with the kernel's ceiling given, so the advice can
/// be checked on invented limits.
pub fn check_connections_under(
    connections: u64,
    nofile: u64,
    ports: Option<u64>,
    nr_open: Option<u64>,
) -> Result<(), String> {
    let needed = connections + RESERVED_DESCRIPTORS;
    if let Some(ceiling) = nr_open.filter(|&ceiling| needed > ceiling) {
        return Err(format!(
            "this socket cell holds up to {connections} connections open at once and needs about \
             {needed} file descriptors in the client and as many in the server, above the \
             kernel's ceiling for any process, fs.nr_open = {ceiling}: no `ulimit -n` can pass it \
             (the open-files limit here is {nofile}); run at most {} tasks, or, as root, raise the \
             ceiling first (`sysctl fs.nr_open={needed}`) and then `ulimit -n {needed}`",
            ceiling.saturating_sub(RESERVED_DESCRIPTORS)
        ));
    }
    if needed > nofile {
        return Err(format!(
            "this socket cell holds up to {connections} connections open at once and needs about \
             {needed} file descriptors in the client and as many in the server, but the open-files \
             limit (RLIMIT_NOFILE, already raised to its hard limit) is {nofile}; raise it with \
             `ulimit -n {needed}` (or higher) in the shell that starts the lab, or with a `nofile` \
             line in /etc/security/limits.conf, or run fewer tasks"
        ));
    }
    if let Some(ports) = ports {
        if connections > ports {
            return Err(format!(
                "this socket cell holds up to {connections} loopback connections open at once, but \
                 only {ports} ephemeral ports are available (net.ipv4.ip_local_port_range); widen \
                 the range with `sysctl net.ipv4.ip_local_port_range=\"1024 65535\"` or run fewer tasks"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_never_lowers_the_limit() {
        let before = crate::os::measure::soft_limit(libc::RLIMIT_NOFILE);
        let after = raise_nofile_limit();
        assert!(after >= before);
        assert_eq!(crate::os::measure::soft_limit(libc::RLIMIT_NOFILE), after);
    }

    #[test]
    fn too_many_connections_name_the_limit_and_the_fix() {
        assert!(check_connections(1000, 20_000, Some(28_000)).is_ok());
        let error = check_connections(10_000, 1024, Some(28_000)).unwrap_err();
        assert!(
            error.contains("RLIMIT_NOFILE") && error.contains("1024"),
            "{error}"
        );
        assert!(
            error.contains("ulimit -n") && error.contains("limits.conf"),
            "{error}"
        );
        let error = check_connections(30_000, 100_000, Some(28_000)).unwrap_err();
        assert!(error.contains("ip_local_port_range"), "{error}");
        assert!(check_connections(30_000, 100_000, None).is_ok());
    }

    #[test]
    fn advice_never_goes_above_the_kernels_ceiling() {
        // 10,000,000 tasks with fs.nr_open at 1,048,576: `ulimit -n 10000064`
        // is impossible, so the error names the ceiling and what root can do.
        let error =
            check_connections_under(10_000_000, 1_048_576, None, Some(1_048_576)).unwrap_err();
        assert!(error.contains("fs.nr_open = 1048576"), "{error}");
        assert!(error.contains("no `ulimit -n` can pass it"), "{error}");
        assert!(error.contains("at most 1048512 tasks"), "{error}");
        assert!(!error.contains("limits.conf"), "{error}");
        // Below the ceiling the usual advice stands.
        let error = check_connections_under(10_000, 1024, None, Some(1_048_576)).unwrap_err();
        assert!(error.contains("ulimit -n 10064"), "{error}");
    }

    #[test]
    fn the_port_range_is_read() {
        if let Some(ports) = ephemeral_ports() {
            assert!(ports > 0 && ports <= 65_536, "{ports}");
        }
    }
}
