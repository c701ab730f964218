#!/usr/bin/env python3
"""Measures the CPU cost of a replicated write (issue 7): starts 3 raftkvd
members on free loopback ports (data dirs in a temp dir, fsync on, default
timing), loads them with raftkv-bench (64 clients, all writes, 100-byte
values) and reports, for the measured window only:

  ops/s, p50, p99 (from the bench), CPU us per acknowledged write of each
  member and summed over the three (utime+stime from /proc/PID/stat), the
  bench's own CPU per write, and entries per fsync of each member (from the
  /metrics counters raftkv_wal_entries_written_total and
  raftkv_wal_fsyncs_total) with the mean fdatasync time
  (raftkv_wal_fsync_seconds_sum / _count).

Each variant (connections spread over all members, then --leader-only)
runs the bench twice: an unmeasured warm-up run, then /proc and /metrics are
read, the measured run, and they are read again; so the window holds the
measured requests and nothing else.

  scripts/measure-cpu-per-write.py [--build DIR] [--runs N] [--clients 64]
      [--duration 10s] [--warmup 2s] [--variant spread|leader|both] [--json]
      [-- extra raftkvd flags]

Every process it starts is killed on exit (also on Ctrl-C).
"""
import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test",
                                "integration"))
import harness  # noqa: E402
from harness import Cluster  # noqa: E402
from nginx_reference import nginx_command  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds (fields 14 and 15 of stat;
    the command name may hold spaces, so split after its closing paren)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise SystemExit(f"/metrics of port {port} has no {name}")


def snapshot(c: Cluster) -> list[dict]:
    out = []
    for m in c.members:
        out.append({
            "cpu": cpu_seconds(m.proc.pid),
            "entries": metric(m.http_port, "raftkv_wal_entries_written_total"),
            "fsyncs": metric(m.http_port, "raftkv_wal_fsyncs_total"),
            "fsync_s": metric(m.http_port, "raftkv_wal_fsync_seconds_sum"),
            "fsync_n": metric(m.http_port, "raftkv_wal_fsync_seconds_count"),
        })
    return out


def run_bench(bench: str, c: Cluster, args: argparse.Namespace, duration: str,
              leader_only: bool) -> dict:
    """Runs raftkv-bench once; returns its JSON summary."""
    cmd = [bench, "--cluster", c.spec(), "--clients", str(args.clients), "--writes", "100",
           "--value-size", "100", "--duration", duration, "--json", "--quiet"]
    if leader_only:
        cmd.append("--leader-only")
    return run_command(cmd)


def run_command(cmd: list[str]) -> dict:
    """Runs raftkv-bench; returns its JSON summary."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    harness._register(proc)
    out, err = proc.communicate(timeout=120)
    harness._unregister(proc)
    if proc.returncode != 0:
        raise SystemExit(f"raftkv-bench failed ({proc.returncode}): {err.decode()}")
    return json.loads(out)


def children_cpu() -> float:
    """CPU seconds of reaped children: the bench's, since the members are
    reaped only at the end."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def one_run(bench: str, c: Cluster, args: argparse.Namespace, leader_only: bool) -> dict:
    run_bench(bench, c, args, args.warmup, leader_only)
    before = snapshot(c)
    bench_before = children_cpu()
    summary = run_bench(bench, c, args, args.duration, leader_only)
    bench_cpu = children_cpu() - bench_before
    after = snapshot(c)
    ops = summary["ops"]
    if ops == 0:
        raise SystemExit("the measured run acknowledged no write")
    members = []
    for i, (b, a) in enumerate(zip(before, after)):
        fsyncs = a["fsyncs"] - b["fsyncs"]
        entries = a["entries"] - b["entries"]
        timed = a["fsync_n"] - b["fsync_n"]
        members.append({
            "fsync_ms_mean": (a["fsync_s"] - b["fsync_s"]) * 1e3 / timed if timed else 0.0,
            "id": i,
            "cpu_us_per_write": (a["cpu"] - b["cpu"]) * 1e6 / ops,
            "entries_per_fsync": entries / fsyncs if fsyncs else 0.0,
            "fsyncs": fsyncs,
        })
    return {
        "ops_s": summary["throughput"],
        "p50_ms": summary["latency_ms"]["p50"],
        "p99_ms": summary["latency_ms"]["p99"],
        "errors": summary["errors_total"],
        "ops": ops,
        "members": members,
        "cpu_us_per_write_sum": sum(m["cpu_us_per_write"] for m in members),
        "bench_cpu_us_per_write": bench_cpu * 1e6 / ops,
    }




def nginx_pids(master: int) -> list[int]:
    """The master and its workers (children listed in /proc)."""
    pids = [master]
    for task in os.listdir(f"/proc/{master}/task"):
        with open(f"/proc/{master}/task/{task}/children") as f:
            pids += [int(p) for p in f.read().split()]
    return pids


def stop_nginx(proc: subprocess.Popen) -> None:
    """SIGTERM makes the master stop its workers; a SIGKILLed master would
    leave them running (orphans holding our stdout and the port)."""
    workers = nginx_pids(proc.pid)[1:] if proc.poll() is None else []
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    for pid in workers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    harness.kill_proc(proc)


def measure_nginx(bench: str, args: argparse.Namespace, tmp: str) -> list[dict]:
    """The reference of issue 7: one nginx worker answering 200 "ok" to GET
    under the same load (as scripts/bench-compare.sh sets it up)."""
    d = os.path.join(tmp, "nginx")
    os.makedirs(d, exist_ok=True)
    port = harness.free_ports(1)[0]
    proc = harness.spawn(nginx_command(d, port))
    try:
        harness.wait_until(lambda: harness.http_request(port, "GET", "/").status == 200, 10,
                           "nginx to answer")
        url = f"http://127.0.0.1:{port}/"
        runs = []
        for _ in range(args.runs):
            cmd = [bench, "--target", "plain", "--url", url, "--clients", str(args.clients),
                   "--json", "--quiet", "--duration"]
            run_command(cmd + [args.warmup])
            pids = nginx_pids(proc.pid)
            before = sum(cpu_seconds(p) for p in pids)
            bench_before = children_cpu()
            summary = run_command(cmd + [args.duration])
            bench_cpu = children_cpu() - bench_before
            ops = max(summary["ops"], 1)
            runs.append({"ops_s": summary["throughput"], "p50_ms": summary["latency_ms"]["p50"],
                         "p99_ms": summary["latency_ms"]["p99"],
                         "errors": summary["errors_total"],
                         "cpu_us_per_request": (sum(cpu_seconds(p) for p in pids) - before) * 1e6
                         / ops, "bench_cpu_us_per_request": bench_cpu * 1e6 / ops})
        return runs
    finally:
        stop_nginx(proc)


def median_of(runs: list[dict]) -> dict:
    med = {k: statistics.median(r[k] for r in runs)
           for k in ("ops_s", "p50_ms", "p99_ms", "errors", "cpu_us_per_write_sum",
                     "bench_cpu_us_per_write")}
    med["members"] = [{
        "id": i,
        "cpu_us_per_write": statistics.median(r["members"][i]["cpu_us_per_write"] for r in runs),
        "entries_per_fsync": statistics.median(r["members"][i]["entries_per_fsync"] for r in runs),
        "fsync_ms_mean": statistics.median(r["members"][i]["fsync_ms_mean"] for r in runs),
    } for i in range(len(runs[0]["members"]))]
    return med


def describe(name: str, r: dict, leader: int) -> str:
    per = "  ".join(f"m{m['id']}{'*' if m['id'] == leader else ''} "
                    f"{m['cpu_us_per_write']:.1f}" for m in r["members"])
    epf = "  ".join(f"m{m['id']} {m['entries_per_fsync']:.1f} (fsync mean {m['fsync_ms_mean']:.2f} ms)"
                    for m in r["members"])
    return (f"{name}: {r['ops_s']:.0f} ops/s  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms"
            f"  errors {r['errors']:.0f}\n"
            f"  CPU us/write: sum {r['cpu_us_per_write_sum']:.1f}  ({per})  "
            f"bench {r['bench_cpu_us_per_write']:.1f}\n"
            f"  entries/fsync: {epf}")


def main() -> None:
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=os.path.join(root, "build-release"))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--duration", default="10s")
    p.add_argument("--warmup", default="2s")
    p.add_argument("--variant", choices=["spread", "leader", "both"], default="both")
    p.add_argument("--nginx", action="store_true",
                   help="also measure nginx answering GET with 200 under the same load")
    p.add_argument("--json", action="store_true")
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = p.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    harness.RAFTKVD = os.environ.get("RAFTKVD") or os.path.join(args.build, "daemon", "raftkvd")
    bench = os.environ.get("RAFTKV_BENCH") or os.path.join(args.build, "tools", "bench",
                                                          "raftkv-bench")
    for path in (harness.RAFTKVD, bench):
        if not os.access(path, os.X_OK):
            raise SystemExit(f"{path} not found: build it or pass --build DIR")
    variants = {"spread": [False], "leader": [True], "both": [False, True]}[args.variant]
    results = {}
    with Cluster(3, extra_args=extra + ["--log-level", "warn"], name="cpu-per-write",
                 fast=False) as c:
        leader = c.wait_for_leader(timeout=15)
        for leader_only in variants:
            name = "leader-only" if leader_only else "spread"
            runs = []
            for n in range(args.runs):
                runs.append(one_run(bench, c, args, leader_only))
                if not args.json:
                    print(describe(f"{name} run {n + 1}", runs[-1], leader), flush=True)
            results[name] = {"median": median_of(runs), "runs": runs, "leader": leader}
            if not args.json:
                print(describe(f"{name} median of {args.runs}", results[name]["median"], leader))
                print()
        nginx = measure_nginx(bench, args, c.tmp) if args.nginx else None
    out = {"clients": args.clients, "duration": args.duration, "value_size": 100,
           "variants": results}
    if nginx:
        med = {k: statistics.median(r[k] for r in nginx) for k in nginx[0]}
        out["nginx"] = {"median": med, "runs": nginx}
        for name, r in results.items():
            r["ratio_to_nginx"] = r["median"]["ops_s"] / med["ops_s"] if med["ops_s"] else 0
        if not args.json:
            print(f"nginx median of {args.runs}: {med['ops_s']:.0f} GET/s  p50 {med['p50_ms']:.2f} "
                  f"ms  p99 {med['p99_ms']:.2f} ms  CPU us/request {med['cpu_us_per_request']:.1f}"
                  f"  bench {med['bench_cpu_us_per_request']:.1f}")
            for name, r in results.items():
                print(f"  raftkv {name} / nginx: {r['ratio_to_nginx']:.2f}x")
    if args.json:
        json.dump(out, sys.stdout, indent=1)
        print()


if __name__ == "__main__":
    main()
