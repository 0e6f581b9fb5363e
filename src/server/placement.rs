//! Where the generator and the server run: sharing the machine's cores over
//! loopback, or apart — disjoint CPU sets (`sched_setaffinity`) and two
//! network namespaces joined by a veth pair, so requests cross a real
//! network stack (two devices, neighbour lookup, the qdisc) instead of
//! loopback's shortcut, and the generator's CPU is not taken from the
//! server's.
//!
//! The namespaces are the lab's own, named `avb-<sweep pid>-srv` and
//! `avb-<sweep pid>-gen`, with addresses from 198.18.0.0/15, the range
//! RFC 2544 sets aside for benchmarking: they exist only inside these two
//! namespaces, which have no other device and no route out, so the traffic
//! never leaves the machine. Creating them needs root (CAP_NET_ADMIN) and
//! `ip` (iproute2). They are removed on every path: when the [`Apart`]
//! guard is dropped (normal end, Ctrl-C, an error), by a watchdog process
//! that outlives a killed sweep and removes them once the sweep's pid is
//! gone, and at the start of every apart sweep, which removes leftovers of
//! sweeps no longer running.

use anyhow::Context;
use std::process::{Command, Stdio};

/// The prefix of every namespace the lab creates.
pub const NETNS_PREFIX: &str = "avb-";

/// The server's and the generator's addresses on the veth pair.
pub const SERVER_ADDR: &str = "198.18.0.1";
pub const GENERATOR_ADDR: &str = "198.18.0.2";
const PREFIX_LEN: u8 = 30;

/// Where a point ran.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// CPUs the server may run on (`None`: every CPU, shared).
    pub server_cpus: Option<Vec<usize>>,
    /// CPUs the generator may run on.
    pub generator_cpus: Option<Vec<usize>>,
    /// The server's and the generator's namespaces (`None`: this one, loopback).
    pub netns: Option<(String, String)>,
}

impl Placement {
    /// Generator and server on the same cores, over loopback.
    pub fn shared() -> Placement {
        Placement {
            server_cpus: None,
            generator_cpus: None,
            netns: None,
        }
    }

    /// The network path a point's requests took: `loopback` or `veth`.
    pub fn network(&self) -> &'static str {
        if self.netns.is_some() {
            "veth"
        } else {
            "loopback"
        }
    }

    /// True when generator and server may run on the same CPU.
    pub fn shares_cores(&self) -> bool {
        match (&self.server_cpus, &self.generator_cpus) {
            (Some(server), Some(generator)) => server.iter().any(|cpu| generator.contains(cpu)),
            _ => true,
        }
    }

    /// The server's CPU list as the kernel writes it (`0-1`, `2,5`), or `all`.
    pub fn server_cpu_list(&self) -> String {
        cpu_list(self.server_cpus.as_deref())
    }

    pub fn generator_cpu_list(&self) -> String {
        cpu_list(self.generator_cpus.as_deref())
    }

    /// Wraps `command` to run in the server's namespace on its CPUs. The
    /// wrapper keeps the program, arguments, environment and directory; set
    /// pipes and `pre_exec` hooks on the command this returns.
    pub fn server_command(&self, command: Command) -> Command {
        placed(
            command,
            self.netns.as_ref().map(|(server, _)| server.as_str()),
            self.server_cpus.clone(),
        )
    }

    /// Wraps `command` to run in the generator's namespace on its CPUs.
    pub fn generator_command(&self, command: Command) -> Command {
        placed(
            command,
            self.netns.as_ref().map(|(_, generator)| generator.as_str()),
            self.generator_cpus.clone(),
        )
    }
}

/// `0-3`, `0,2`, or `all` for no restriction.
pub fn cpu_list(cpus: Option<&[usize]>) -> String {
    let Some(cpus) = cpus else {
        return "all".into();
    };
    let mut ranges: Vec<String> = Vec::new();
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut index = 0;
    while index < sorted.len() {
        let start = sorted[index];
        let mut end = start;
        while index + 1 < sorted.len() && sorted[index + 1] == end + 1 {
            index += 1;
            end = sorted[index];
        }
        ranges.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        index += 1;
    }
    ranges.join(",")
}

/// Splits `cpus` into the server's and the generator's sets: the server the
/// larger half (it is what is measured), the generator the rest; `None`
/// with fewer than two CPUs.
pub fn split_cpus(cpus: &[usize]) -> Option<(Vec<usize>, Vec<usize>)> {
    if cpus.len() < 2 {
        return None;
    }
    let generator = cpus.len() / 2;
    let (server, rest) = cpus.split_at(cpus.len() - generator);
    Some((server.to_vec(), rest.to_vec()))
}

/// The CPUs this process may run on.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: sched_getaffinity fills the zeroed set we own.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    if unsafe { libc::sched_getaffinity(0, size, &mut set) } != 0 {
        return (0..crate::os::measure::cores()).collect();
    }
    (0..libc::CPU_SETSIZE as usize)
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect()
}

fn placed(command: Command, netns: Option<&str>, cpus: Option<Vec<usize>>) -> Command {
    use std::os::unix::process::CommandExt;
    let mut command = match netns {
        None => command,
        Some(name) => {
            // `ip netns exec` enters the namespace and execs the command:
            // the pid stays the server's own, so /proc/<pid> still reads it.
            let mut wrapped = Command::new("ip");
            wrapped
                .args(["netns", "exec", name])
                .arg(command.get_program())
                .args(command.get_args());
            for (key, value) in command.get_envs() {
                match value {
                    Some(value) => wrapped.env(key, value),
                    None => wrapped.env_remove(key),
                };
            }
            if let Some(dir) = command.get_current_dir() {
                wrapped.current_dir(dir);
            }
            wrapped
        }
    };
    if let Some(cpus) = cpus {
        // SAFETY: the closure runs in the forked child before exec and only
        // calls sched_setaffinity on a set built before the fork.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        for cpu in cpus {
            unsafe { libc::CPU_SET(cpu, &mut set) };
        }
        unsafe {
            command.pre_exec(move || {
                let size = std::mem::size_of::<libc::cpu_set_t>();
                if libc::sched_setaffinity(0, size, &set) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    command
}

/// The two namespaces and their veth pair, removed when dropped.
pub struct Apart {
    pub placement: Placement,
    names: (String, String),
}

fn ip(args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("running `ip` (iproute2)")?;
    anyhow::ensure!(
        output.status.success(),
        "`ip {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

/// The lab's namespaces that exist now.
pub fn lab_namespaces() -> Vec<String> {
    let Ok(output) = Command::new("ip").args(["netns", "list"]).output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| name.starts_with(NETNS_PREFIX))
        .map(str::to_string)
        .collect()
}

/// The sweep pid a lab namespace name carries (`avb-1234-srv` → 1234).
pub fn owner_pid(name: &str) -> Option<u32> {
    name.strip_prefix(NETNS_PREFIX)?
        .split('-')
        .next()?
        .parse()
        .ok()
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes the namespaces of apart sweeps that are no longer running (a
/// sweep killed before its watchdog could act, or a machine restarted
/// halfway through).
pub fn remove_leftovers() {
    for name in lab_namespaces() {
        if owner_pid(name.as_str()).map_or(true, |pid| !alive(pid) || pid == std::process::id()) {
            let _ = ip(&["netns", "del", &name]);
        }
    }
}

/// Why apart cannot run here, in one line, or `None` when it can.
pub fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some(
            "--placement apart needs root (it creates network namespaces and a veth pair)".into(),
        );
    }
    if Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_or(true, |s| !s.success())
    {
        return Some(
            "--placement apart needs `ip` from iproute2 (apt-get install iproute2)".into(),
        );
    }
    if split_cpus(&allowed_cpus()).is_none() {
        return Some("--placement apart needs at least two CPUs".into());
    }
    None
}

impl Apart {
    /// Creates the namespaces, the veth pair and the watchdog; splits the
    /// CPUs this process may use between server and generator.
    pub fn create() -> anyhow::Result<Apart> {
        remove_leftovers();
        let pid = std::process::id();
        let names = (
            format!("{NETNS_PREFIX}{pid}-srv"),
            format!("{NETNS_PREFIX}{pid}-gen"),
        );
        let (server_cpus, generator_cpus) =
            split_cpus(&allowed_cpus()).context("splitting the CPUs needs at least two")?;
        // The guard first: whatever fails below, what was made is removed.
        let apart = Apart {
            placement: Placement {
                server_cpus: Some(server_cpus),
                generator_cpus: Some(generator_cpus),
                netns: Some(names.clone()),
            },
            names: names.clone(),
        };
        spawn_watchdog(pid, &names)?;
        let (server, generator) = (names.0.as_str(), names.1.as_str());
        let (server_dev, generator_dev) = (format!("avbs{pid}"), format!("avbg{pid}"));
        ip(&["netns", "add", server])?;
        ip(&["netns", "add", generator])?;
        ip(&[
            "link",
            "add",
            &server_dev,
            "netns",
            server,
            "type",
            "veth",
            "peer",
            "name",
            &generator_dev,
            "netns",
            generator,
        ])?;
        for (netns, dev, addr) in [
            (server, &server_dev, SERVER_ADDR),
            (generator, &generator_dev, GENERATOR_ADDR),
        ] {
            ip(&[
                "-n",
                netns,
                "addr",
                "add",
                &format!("{addr}/{PREFIX_LEN}"),
                "dev",
                dev,
            ])?;
            ip(&["-n", netns, "link", "set", dev, "up"])?;
            ip(&["-n", netns, "link", "set", "lo", "up"])?;
        }
        Ok(apart)
    }
}

/// A process in a session of its own that waits for `sweep_pid` to end and
/// then removes `names`: it survives SIGKILL of the sweep and Ctrl-C of the
/// terminal (it ignores SIGINT and has no controlling terminal).
fn spawn_watchdog(sweep_pid: u32, names: &(String, String)) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt;
    let script = format!(
        "trap '' INT HUP; while [ -e /proc/{sweep_pid} ]; do sleep 0.2; done; \
         ip netns del {} 2>/dev/null; ip netns del {} 2>/dev/null; exit 0",
        names.0, names.1
    );
    let mut command = Command::new("sh");
    command
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid in the forked child before exec is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    // Not waited for: when the sweep ends first, init adopts and reaps it.
    command.spawn().context("starting the namespace watchdog")?;
    Ok(())
}

impl Drop for Apart {
    fn drop(&mut self) {
        // Deleting a namespace destroys its end of the veth pair, and the
        // kernel removes the peer with it.
        let _ = ip(&["netns", "del", &self.names.0]);
        let _ = ip(&["netns", "del", &self.names.1]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_read_as_the_kernel_writes_them() {
        assert_eq!(cpu_list(None), "all");
        assert_eq!(cpu_list(Some(&[0, 1, 2, 5])), "0-2,5");
        assert_eq!(cpu_list(Some(&[3])), "3");
    }

    #[test]
    fn the_split_gives_disjoint_sets_the_server_the_larger_half() {
        assert_eq!(split_cpus(&[0]), None);
        assert_eq!(split_cpus(&[0, 1]), Some((vec![0], vec![1])));
        let (server, generator) = split_cpus(&(0..7).collect::<Vec<_>>()).unwrap();
        assert_eq!((server.len(), generator.len()), (4, 3));
        assert!(server.iter().all(|cpu| !generator.contains(cpu)));
        for cores in 2..=64usize {
            let (server, generator) = split_cpus(&(0..cores).collect::<Vec<_>>()).unwrap();
            assert_eq!(server.len() + generator.len(), cores);
            let placed = Placement {
                server_cpus: Some(server),
                generator_cpus: Some(generator),
                netns: None,
            };
            assert!(!placed.shares_cores());
        }
        assert!(Placement::shared().shares_cores());
    }

    #[test]
    fn a_namespace_name_carries_the_pid_of_the_sweep_that_made_it() {
        assert_eq!(owner_pid("avb-1234-srv"), Some(1234));
        assert_eq!(owner_pid("avb-x-gen"), None);
        assert_eq!(owner_pid("other-1-srv"), None);
    }
}
