//! The seeds' own servers: the Python services the lab's question comes
//! from ("should my *service* be async?"), FastAPI under uvicorn and
//! aiohttp, each serving the lab's `GET /work` and `GET /health` with the
//! same parameters, the same checkable body and Python's version of the
//! calibrated compute kernel (`scripts/python/servers/`).
//!
//! They are not models: no `Model` runs them and `run`/`sweep` cells never
//! see them. The `server` sweep drives them with the same `load` generator,
//! by name (`sweep --workloads server --models tokio,py-fastapi`), starting
//! the Python server as its child process the way it starts
//! `serve --model M`. Their points say they are Python by their names
//! (`py-…`, [`is_python`]), as the Python mirror's records do.
//!
//! They run in a virtual environment with pinned versions
//! (`scripts/python/servers/requirements.txt`), created by
//! `scripts/python/setup_servers_venv.sh` in `target/venv-servers` (or
//! `$AVB_PY_SERVERS_VENV`). Where it is missing, asking for a Python server
//! is a usage error that says how to create it.

use crate::os::error::UsageError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One Python server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PythonServer {
    /// Its name in `--models` and in `server.jsonl`.
    pub name: &'static str,
    /// Its script, relative to `scripts/python/servers/`.
    pub script: &'static str,
    /// What it is, in words.
    pub description: &'static str,
}

/// Every Python server, in the order the sweep runs them.
pub const ALL: [PythonServer; 2] = [
    PythonServer {
        name: "py-fastapi",
        script: "fastapi_app.py",
        description: "FastAPI under uvicorn (one worker process, uvloop, httptools)",
    },
    PythonServer {
        name: "py-aiohttp",
        script: "aiohttp_app.py",
        description: "aiohttp's web server (one process, asyncio's own loop)",
    },
];

/// Where the sweep and the tests look for the virtual environment.
pub const VENV_ENV: &str = "AVB_PY_SERVERS_VENV";

/// The script that creates it.
pub const SETUP_SCRIPT: &str = "scripts/python/setup_servers_venv.sh";

/// The names, for `--models` and error messages.
pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|server| server.name).collect()
}

/// The Python server called `name`, if there is one.
pub fn by_name(name: &str) -> Option<&'static PythonServer> {
    ALL.iter().find(|server| server.name == name)
}

/// True for a serving model name that is a Python server (the report
/// labels those points "Python").
pub fn is_python(name: &str) -> bool {
    by_name(name).is_some()
}

/// The lab's source tree, where the scripts and `target/` are.
fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The virtual environment's directory.
pub fn venv() -> PathBuf {
    std::env::var_os(VENV_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| repository().join("target/venv-servers"))
}

/// The requirements file, and the copy the setup script leaves in the
/// venv once everything in it is installed.
fn requirements() -> (PathBuf, PathBuf) {
    (
        repository().join("scripts/python/servers/requirements.txt"),
        venv().join(".requirements"),
    )
}

/// The venv's interpreter, or a usage error saying how to create the venv
/// (missing, half-made, or made from other requirements).
pub fn python() -> Result<PathBuf, UsageError> {
    let interpreter = venv().join("bin/python");
    let (wanted, installed) = requirements();
    let current = interpreter.is_file()
        && matches!(
            (std::fs::read(&wanted), std::fs::read(&installed)),
            (Ok(wanted), Ok(installed)) if wanted == installed
        );
    if current {
        Ok(interpreter)
    } else {
        Err(UsageError(format!(
            "error: the Python servers ({}) need their virtual environment {}, which is missing \
             or out of date: create it with {SETUP_SCRIPT} (python3 with venv and pip, and PyPI \
             reachable; a few minutes)",
            names().join(", "),
            venv().display()
        )))
    }
}

impl PythonServer {
    /// The command that starts this server on a free loopback port; it
    /// prints its address on the first line of stdout, like `serve`.
    pub fn command(&self) -> Result<Command, UsageError> {
        let mut command = Command::new(python()?);
        command
            .arg(
                repository()
                    .join("scripts/python/servers")
                    .join(self.script),
            )
            .args(["--port", "0"])
            // No .pyc files in the source tree; nothing buffered on stdout.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1");
        Ok(command)
    }
}

/// The command that starts the server the `server` sweep calls `model`: a
/// Python server's, or `serve --model` of the lab's binary `exe`.
pub fn server_command(exe: &Path, model: &str, workers: usize) -> anyhow::Result<Command> {
    if let Some(python) = by_name(model) {
        return Ok(python.command()?);
    }
    let mut command = Command::new(exe);
    command
        .args(["serve", "--model", model, "--port", "0"])
        .args(["--workers", &workers.to_string()]);
    Ok(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_servers_are_named_apart_from_every_model() {
        for server in ALL {
            assert!(server.name.starts_with("py-"), "{}", server.name);
            assert!(crate::model::by_name(server.name).is_none());
            assert!(repository()
                .join("scripts/python/servers")
                .join(server.script)
                .is_file());
        }
        assert!(is_python("py-fastapi") && !is_python("tokio"));
    }
}
