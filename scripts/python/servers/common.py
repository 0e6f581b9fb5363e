"""What the seeds' own Python servers share with each other and with the lab.

The lab's HTTP core (src/net/http/) defines two routes, and these servers answer
them the same way:

- ``GET /health``: ``ok`` and a newline, at once.
- ``GET /work?wait_ms=D&cpu_us=C&bytes=R[&mode=own|block|offload]``: wait D
  ms, compute C µs with the calibrated kernel (``kernel.py``, the same chain
  of steps as the lab's ``compute::spin``), answer R checkable bytes (byte k
  is ``ALPHABET[k % 62]``, the lab's ``protocol::ALPHABET``).
  ``mode=own`` (the default) waits with ``await asyncio.sleep``;
  ``mode=block`` calls ``time.sleep`` inside the async handler, the pitfall
  that stops the event loop; ``mode=offload`` runs the wait and the compute
  in the event loop's default thread pool (``run_in_executor``). The
  compute runs inline on the event loop in ``own`` and ``block``, as the
  lab's async handlers compute inline on their executor thread.

A parameter out of range gets ``400`` and one line saying why, then the
connection is closed, as in the lab. The limits are the lab's
(src/net/http/request.rs).
"""

import argparse
import asyncio
import functools
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import kernel  # noqa: E402  (scripts/python/kernel.py, the lab's compute kernel)

ALPHABET = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
MAX_WAIT_MS = 60_000.0
MAX_CPU_US = 10_000_000.0
MAX_BODY_BYTES = 64 * 1024 * 1024
DEFAULT_BODY_BYTES = 64
MODES = ("own", "block", "offload")
# The lab's listen backlog (src/net/latency/mod.rs LISTEN_BACKLOG; the kernel caps it
# at net.core.somaxconn).
LISTEN_BACKLOG = 65_535
HEALTH_BODY = b"ok\n"


class BadRequest(Exception):
    """A parameter the server cannot accept; the message says why."""


def number(name, value, maximum):
    """A finite number from 0 to ``maximum``, or BadRequest in the lab's words."""
    try:
        parsed = float(value)
    except ValueError:
        parsed = float("nan")
    if not (0.0 <= parsed <= maximum):  # also false for nan
        raise BadRequest(f"{name}={value!r} must be a number from 0 to {maximum:.0f}")
    return parsed


def body_bytes(value):
    """A whole number of bytes from 0 to MAX_BODY_BYTES."""
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_BODY_BYTES:
        raise BadRequest(f"bytes={value!r} must be a whole number from 0 to {MAX_BODY_BYTES}")
    return int(value)


def mode(value):
    """One of MODES (empty: own)."""
    if value == "":
        return "own"
    if value not in MODES:
        raise BadRequest(f"mode={value!r} is not a mode; valid: {', '.join(MODES)}")
    return value


@functools.lru_cache(maxsize=64)
def body(length):
    """``length`` bytes of the checkable pattern (cached: a load test asks
    for the same few sizes again and again)."""
    repeats = length // len(ALPHABET) + 1
    return (ALPHABET * repeats)[:length]


class Compute:
    """The calibrated kernel: ``cpu_us`` microseconds of dependent steps."""

    def __init__(self):
        # Calibrated once at start-up, in the server's own interpreter, as
        # `serve` calibrates the Rust kernel before it listens.
        self.iters_per_us = kernel.calibrate()

    def run(self, cpu_us):
        if cpu_us > 0:
            kernel.spin(kernel.iterations_for(cpu_us, self.iters_per_us))


def parse_work(query):
    """(wait_ms, cpu_us, bytes, mode) from a raw query string, parameter by
    parameter as the lab's src/net/http/request.rs reads it (a later repeat
    wins; an unknown parameter is refused)."""
    wait_ms, cpu_us, length, how = 0.0, 0.0, DEFAULT_BODY_BYTES, "own"
    for pair in filter(None, query.split("&")):
        name, _, value = pair.partition("=")
        if name == "wait_ms":
            wait_ms = number(name, value, MAX_WAIT_MS)
        elif name == "cpu_us":
            cpu_us = number(name, value, MAX_CPU_US)
        elif name == "bytes":
            length = body_bytes(value)
        elif name == "mode":
            how = mode(value)
        else:
            raise BadRequest(f"unknown parameter {name!r}; valid: wait_ms, cpu_us, bytes, mode")
    return wait_ms, cpu_us, length, how


async def handle_work(compute, wait_ms, cpu_us, how):
    """Waits and computes as ``how`` says, then returns."""
    wait_s = wait_ms / 1e3
    if how == "own":
        if wait_s > 0:
            await asyncio.sleep(wait_s)
        compute.run(cpu_us)
    elif how == "block":
        time.sleep(wait_s)
        compute.run(cpu_us)
    else:
        def blocking():
            time.sleep(wait_s)
            compute.run(cpu_us)

        await asyncio.get_running_loop().run_in_executor(None, blocking)


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments: one line saying what was wrong, exit 2 (as the lab)."""

    def error(self, message):
        print(f"error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def arguments(description):
    parser = OneLineParser(description=description)
    parser.add_argument("--port", type=int, default=0, help="TCP port (0: a free one) [default: 0]")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="listen on every interface, not only loopback",
    )
    parser.add_argument(
        "--idle-timeout-s",
        type=int,
        default=60,
        help="close a keep-alive connection idle this long [default: 60, as `serve`]",
    )
    args = parser.parse_args()
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port} is not a port; valid: 0 to 65535")
    if args.idle_timeout_s < 1:
        parser.error("--idle-timeout-s must be at least 1")
    return args


def raise_descriptor_limit():
    """Raises the soft limit on open descriptors to the hard limit, as
    `serve` does (src/os/descriptors.rs): 10,000 idle connections need more
    than the usual soft limit of 1,024. Returns the limit now in force."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard
    if hard == resource.RLIM_INFINITY:
        # The kernel refuses an infinite descriptor limit; fs.nr_open is the ceiling.
        try:
            with open("/proc/sys/fs/nr_open") as f:
                wanted = int(f.read())
        except (OSError, ValueError):
            wanted = soft
    if wanted > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return soft


def listen(args):
    """A listening socket, bound before the framework starts, so that its
    address (port 0 picks one) can be printed first, like `serve` does."""
    raise_descriptor_limit()
    host = "0.0.0.0" if args.allow_remote else "127.0.0.1"
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, args.port))
    sock.listen(LISTEN_BACKLOG)
    sock.setblocking(False)
    return sock


def announce(sock, name, versions, description):
    """The address on the first line of stdout (what the sweep and the tests
    read), then one line of versions and one of description on stderr."""
    host, port = sock.getsockname()[:2]
    print(f"{host}:{port}", flush=True)
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions), file=sys.stderr, flush=True)
    print(
        f"{name} HTTP/1.1 server on http://{host}:{port}: {description}, "
        f"up to {raise_descriptor_limit()} open descriptors; "
        "GET /work?wait_ms=D&cpu_us=C&bytes=R[&mode=block|offload], GET /health",
        file=sys.stderr,
        flush=True,
    )


def python_version():
    return "{}.{}.{}".format(*sys.version_info[:3])
