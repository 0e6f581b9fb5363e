# A Locust file exported by `async-vs-blocking load --export-locust`: the
# same experiment as the lab's `load` command line it came from (target,
# request, rate, connections, duration, objective), for Locust's distributed
# master/worker mode (scripts/locust_compare.sh starts one master and two
# workers with it).
#
# Locust is closed-loop: each user sends a request, waits for its reply, and
# only then, paced by `constant_throughput`, sends the next. When the server
# stalls, its users stall with it and simply send less, so the stall shows
# as a lower rate, not as latency. The lab's `load` is open-loop: request k
# is due at start + k / rate whatever happened before, and its latency counts
# from that due time, so the same stall shows in full in its percentiles.
# Read Locust's percentiles beside the lab's with that in mind.
import json
import time

from locust import FastHttpUser, LoadTestShape, constant_throughput, events, task
from locust.runners import MasterRunner, LocalRunner

TARGET = "http://127.0.0.1:46101"
PATH = "/work?wait_ms=20&bytes=64&mode=block"
RATE = 150.0  # requests per second, all users together
CONNECTIONS = 10  # users: one keep-alive connection each
WARMUP_S = 1.0  # sent, then the statistics are reset
DURATION_S = 5.0  # measured, after the warm-up
TIMEOUT_S = 10.0
OBJECTIVE_MS = 100.0  # p99 at or below this passes


class LabRequest(FastHttpUser):
    host = TARGET
    # Each user aims at its share of the rate; a slow reply delays its next request.
    wait_time = constant_throughput(RATE / CONNECTIONS)
    network_timeout = TIMEOUT_S
    connection_timeout = TIMEOUT_S

    @task
    def request(self):
        self.client.get(PATH, name=PATH)


class LabShape(LoadTestShape):
    """All users at once, for the warm-up and the measured time, then stop."""

    def tick(self):
        if self.get_run_time() < WARMUP_S + DURATION_S:
            return (CONNECTIONS, CONNECTIONS)
        return None


_measured = {}


def _is_master(environment):
    return isinstance(environment.runner, (MasterRunner, LocalRunner))


@events.test_start.add_listener
def _start(environment, **_):
    if not _is_master(environment):
        return

    def reset():
        environment.runner.stats.reset_all()
        _measured["from"] = time.time()

    import gevent

    gevent.spawn_later(WARMUP_S, reset)


@events.test_stop.add_listener
def _stop(environment, **_):
    if not _is_master(environment):
        return
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    started = _measured.get("from", time.time() - DURATION_S)
    workers = getattr(environment.runner, "worker_count", 1)
    total = environment.runner.stats.total
    p99 = total.get_response_time_percentile(0.99) or 0
    verdict = "meets" if p99 <= OBJECTIVE_MS and total.num_failures == 0 else "misses"
    print(f"lab objective p99 <= {OBJECTIVE_MS} ms: {verdict} it (closed-loop p99 {p99} ms)")
    if prefix:
        with open(f"{prefix}_lab.json", "w") as out:
            json.dump(
                {
                    "target": TARGET.split("://", 1)[-1],
                    "path": PATH,
                    "users": CONNECTIONS,
                    "workers": workers,
                    "aimed_rps": RATE,
                    "duration_s": round(time.time() - started, 3),
                    "unix_s": int(started),
                },
                out,
            )
