#!/usr/bin/env python3
"""Measures failover time: kill -9 of the leader of a 3-member cluster to the
next acknowledged write, writing through the survivors with a short client
timeout. Repeats RUNS times (restarting the killed member in between) and
prints each time and the median.

  scripts/measure-failover.py [--raftkvd PATH] [--runs 5] [-- extra raftkvd flags]
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test",
                                "integration"))
import harness  # noqa: E402
from harness import Cluster, kv_path  # noqa: E402


def one_failover(c: Cluster, run: int) -> float:
    old = c.wait_for_leader(timeout=10)
    survivors = [i for i in c.live_ids() if i != old]
    for k in range(20):
        r = c.request(survivors[0], "PUT", kv_path(f"r{run}-{k}"), b"v", timeout=5)
        assert r.status == 200, r
    t_kill = time.monotonic()
    c.kill9(old)
    attempt = 0
    while time.monotonic() - t_kill < 30:
        member = survivors[attempt % 2]
        attempt += 1
        try:
            if c.request(member, "PUT", kv_path(f"after-{run}"), b"x", timeout=0.25).status == 200:
                elapsed = time.monotonic() - t_kill
                c.restart(old)
                return elapsed
        except OSError:
            pass
        time.sleep(0.005)
    raise SystemExit("no write succeeded within 30 s of the kill")


def main() -> None:
    harness.RAFTKVD, rest = harness.find_raftkvd(sys.argv[1:])
    runs = 5
    if "--runs" in rest:
        runs = int(rest[rest.index("--runs") + 1])
    extra = rest[rest.index("--") + 1:] if "--" in rest else []
    times = []
    # Default daemon timing (heartbeat 50 ms, election timeout 500 ms) unless
    # flags after -- say otherwise.
    with Cluster(3, extra_args=extra, name="failover", fast=False) as c:
        for run in range(runs):
            t = one_failover(c, run)
            times.append(t)
            print(f"run {run + 1}: first acknowledged write {t * 1000:.0f} ms after kill -9")
    print(f"median of {runs}: {statistics.median(times) * 1000:.0f} ms "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})")


if __name__ == "__main__":
    main()
