#!/usr/bin/env python3
"""The front end's figures of issue 7 at one client count, beside nginx.

A narrower bench-compare.py (it reuses its systems and measurement) for
work on the HTTP request path: raftkv's linearizable reads, stale reads and
writes at --clients (default 64), each spread over the three members and
aimed at the leader only (--leader-only), and nginx's GET at the same
client count; the repetitions are interleaved (raftkv, nginx, raftkv, ...)
and every figure is the median over --runs. Besides the summed CPU per
operation it reports each member's own CPU µs per operation (leader first),
so the leader's and a follower's per-request cost can be told apart.

It uses its own ports (HTTP 2150-2152, Raft 3150-3152, nginx 2159) so it can
run beside bench-compare.py and the tests; --port-base P moves them to HTTP
P..P+2, nginx P+9 and Raft P+1000..P+1002 (two runs side by side). --build
may name several build dirs, comma-separated: each repetition then runs
every build in turn (an A/B of old and new builds, alternating) and the
summary has a row per build.

  scripts/measure-reads.py --build BUILD[,BUILD2...] [--runs 3] [--clients 64]
                           [--duration 5s] [--warmup 1s] [--only reads,stale-reads]
                           [--port-base 2150]
"""

import argparse
import importlib.util
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
_spec = importlib.util.spec_from_file_location("bench_compare",
                                               os.path.join(HERE, "bench-compare.py"))
bc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bc)


def use_ports(base):
    """HTTP base..base+2, nginx base+9, Raft base+1000..base+1002."""
    bc.RAFTKV_HTTP = [base, base + 1, base + 2]
    bc.RAFTKV_RAFT = [base + 1000, base + 1001, base + 1002]
    bc.NGINX_PORT = base + 9


use_ports(2150)

WORKLOADS = {
    "reads": bc.READS,
    "stale-reads": bc.READS + ["--stale"],
    "writes": bc.WRITES,
}


class MemberSampler:
    """Each member's CPU seconds at the start and end of the measured window."""

    def __init__(self, pids, warmup, duration):
        self.pids, self.warmup, self.duration = pids, warmup, duration
        self.before = self.after = None
        self.thread = threading.Thread(target=self.run, daemon=True)

    def sample(self):
        return time.monotonic(), [bc.cpu_seconds(p) for p in self.pids]

    def run(self):
        time.sleep(self.warmup)
        self.before = self.sample()
        time.sleep(self.duration)
        self.after = self.sample()


def measure(args, system, workload, extra, leader):
    """bc.measure plus per-member CPU µs/op (index 0 = the leader)."""
    args.build = system.build  # the bench of the build being measured
    pids = system.pids()
    sampler = MemberSampler(pids, bc.seconds(args.warmup), bc.seconds(args.duration))
    # bc.measure prefills before its own sampler starts; ours starts with it
    # only when there is no prefill (the prefill is done separately here).
    if "--prefill" in extra:
        bench = os.path.join(args.build, "tools/bench/raftkv-bench")
        bc.subprocess.run([bench, *system.target(), "--clients", "16", "--requests", "1",
                           "--prefill", "--keys", "1000", "--value-size", "100", "--quiet"],
                          stdout=bc.subprocess.DEVNULL, check=True, timeout=120)
        extra = [e for e in extra if e != "--prefill"]
    sampler.thread.start()
    row = bc.measure(args, system, workload, args.clients, extra)
    sampler.thread.join(timeout=30)
    if sampler.after and row["ops"] > 0 and leader is not None:
        window = sampler.after[0] - sampler.before[0]
        ops = row["ops_per_s"] * window
        per = [(a - b) / ops * 1e6 for a, b in zip(sampler.after[1], sampler.before[1])]
        order = [leader] + [i for i in range(len(per)) if i != leader]
        row["member_cpu_us"] = [round(per[i], 1) for i in order]
    return row


def run_raftkv(args, system, run, rows):
    system.start(run)
    try:
        for workload in args.only:
            for aim in ("spread", "leader"):
                extra = list(WORKLOADS[workload]) + (["--leader-only"] if aim == "leader" else [])
                row = measure(args, system, f"{workload}-{aim}", extra, system.leader())
                row["run"] = run
                row["build"] = system.label
                rows.append(row)
                bc.log_row(row)
                if "member_cpu_us" in row:
                    print(f"    member CPU us/op (leader first): {row['member_cpu_us']}",
                          file=sys.stderr)
    finally:
        system.stop()


def run_nginx(args, system, run, rows):
    system.start(run)
    try:
        row = bc.measure(args, system, "get", args.clients, [])
        row["run"] = run
        rows.append(row)
        bc.log_row(row)
    finally:
        system.stop()


def summary(rows):
    groups = {}
    for row in rows:
        system = row["system"] + (f" [{row['build']}]" if row.get("build") else "")
        groups.setdefault((system, row["workload"]), []).append(row)
    nginx = statistics.median(r["ops_per_s"] for r in groups.get(("nginx", "get"), [{"ops_per_s": 0}]))
    lines = ["| workload | clients | ops/s | p50 ms | p99 ms | errors | x nginx | CPU us/op (sum) "
             "| CPU us/op per member (leader first) | runs (ops/s) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for (system, workload), group in groups.items():
        def med(key):
            values = [r[key] for r in group if key in r]
            return statistics.median(values) if values else float("nan")
        members = [r["member_cpu_us"] for r in group if "member_cpu_us" in r]
        per = ([round(statistics.median(m[i] for m in members), 1) for i in range(3)]
               if members else "-")
        ratio = med("ops_per_s") / nginx if nginx else float("nan")
        runs = " ".join(f"{r['ops_per_s']:.0f}" for r in group)
        lines.append(f"| {system} {workload} | {group[0]['clients']} | {med('ops_per_s'):.0f} | "
                     f"{med('p50_ms'):.2f} | {med('p99_ms'):.2f} | {med('errors'):.0f} | "
                     f"{ratio:.2f} | {med('cpu_us_per_op'):.1f} | {per} | {runs} |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", required=True, help="build dir(s), comma-separated for an A/B")
    p.add_argument("--port-base", type=int, default=2150)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--duration", default="5s")
    p.add_argument("--warmup", default="1s")
    p.add_argument("--only", default="reads,stale-reads,writes",
                   help="comma-separated subset of reads, stale-reads, writes")
    p.add_argument("--out", default=None, help="write every run as JSON here")
    args = p.parse_args()
    args.only = [w for w in args.only.split(",") if w]
    for w in args.only:
        if w not in WORKLOADS:
            sys.exit(f"measure-reads: unknown workload {w}")
    use_ports(args.port_base)
    tmp = tempfile.mkdtemp(prefix="measure-reads.")
    builds = [b for b in args.build.split(",") if b]
    systems = []
    for k, build in enumerate(builds):
        own = os.path.join(tmp, f"build{k}")  # data dirs are named by run only
        os.makedirs(own)
        system = bc.Raftkv(own, os.path.join(build, "daemon/raftkvd"))
        system.build = build
        system.label = os.path.basename(os.path.normpath(build)) if len(builds) > 1 else ""
        systems.append(system)
    nginx = bc.Nginx(tmp)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    print(f"measure-reads: load {os.getloadavg()}", file=sys.stderr)
    rows = []
    try:
        for run in range(1, args.runs + 1):
            print(f"run {run}/{args.runs}", file=sys.stderr)
            for raftkv in systems:
                run_raftkv(args, raftkv, run, rows)
                run_nginx(args, nginx, run, rows)
    finally:
        for raftkv in systems:
            raftkv.stop()
        nginx.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)
    print(summary(rows))


if __name__ == "__main__":
    main()
