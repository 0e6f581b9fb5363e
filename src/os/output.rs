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
//! [`write_stdout`] is how commands print: a stdout that cannot be written
//! (`list > /dev/full`) becomes one error line and exit code 1 instead of a
//! panic. (A closed descriptor 1 never reaches it: Rust's start-up opens
//! /dev/null in its place; a reader that goes away ends the lab by SIGPIPE,
//! quietly, as it ends `cat`.)

use crate::os::error::UsageError;
use anyhow::bail;
use std::path::{Component, Path, PathBuf};

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
    let probe = path_in(dir, ".write-test")?;
    let outcome = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&probe, b""));
    let _ = std::fs::remove_file(&probe);
    outcome.map_err(|error| {
        UsageError(format!(
            "error: cannot write to the output directory {}: {error} (choose another with --out)",
            dir.display()
        ))
        .into()
    })
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
