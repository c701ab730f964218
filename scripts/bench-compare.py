#!/usr/bin/env python3
"""Compares raftkv with etcd 3.4 and nginx on this machine under the same load.

One run of this script measures, with raftkv-bench, at each client count of
--sweep (default 1,16,64,256):
  raftkv  writes (PUT, 100-byte values), 3 members, default fsync
  etcd    the same writes through etcd 3.4's v3 JSON gateway, 3 members
  nginx   GET of a constant 200 (the machine's HTTP ceiling: no disk, no
          consensus), one worker
and at --read-clients (default 64): linearizable and stale reads of 1000
prefilled keys on raftkv and etcd (etcd's stale read is "serializable").
Connections are spread round-robin over the three members, as a client
library would; followers forward to the leader.

Per measured run it also records the CPU time (utime+stime from
/proc/PID/stat) of every member over the measured window, summed, divided by
the acknowledged operations; the resident size (VmRSS) of each member after
the run; and for raftkv writes the leader's log counters from /metrics
(entries made durable per fdatasync and per group commit).

Each system's cluster is started fresh (empty temp data dirs) for each of the
--runs repetitions, and the repetitions are interleaved (raftkv, etcd, nginx,
raftkv, ...) so that the machine's noise falls on all three alike. Every
figure in the summary is the median over the runs; ratios are of medians.

Output dir (--out, kept): runs.json / runs.csv (every measured run), medians.json /
medians.csv, table.md (also printed), machine.json. scripts/bench-chart.py
turns medians.json into the SVG chart of docs/benchmarks.md.

etcd-server and nginx are installed with apt-get when missing (as root);
without them their rows are skipped. Everything started is stopped and the
temp dir removed on exit, also on Ctrl-C.
"""

import argparse
import csv
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from nginx_reference import nginx_command

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Ports of this script (clear of the project's tests and other scripts).
RAFTKV_HTTP = [2400, 2401, 2402]
RAFTKV_RAFT = [3400, 3401, 3402]
ETCD_CLIENT = [2479, 2480, 2481]
ETCD_PEER = [2579, 2580, 2581]
NGINX_PORT = 2482

WRITES = ["--writes", "100", "--value-size", "100"]
READS = ["--writes", "0", "--prefill", "--keys", "1000", "--value-size", "100"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build-release"),
                   help="build dir with daemon/raftkvd and tools/bench/raftkv-bench")
    p.add_argument("--sweep", default="1,16,64,256", help="client counts for writes and nginx")
    p.add_argument("--read-clients", type=int, default=64, help="client count for reads")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--duration", default="8s", help="measured time per run (raftkv-bench)")
    p.add_argument("--warmup", default="2s", help="unmeasured time before each run")
    p.add_argument("--out", default=None,
                   help="output dir (default $TMPDIR/bench-compare-results-DATE)")
    p.add_argument("--no-etcd", action="store_true")
    p.add_argument("--no-nginx", action="store_true")
    return p.parse_args()


def seconds(text):
    """'8s', '500ms' or '8' as seconds."""
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    return float(text.rstrip("s"))


def http_get(url, timeout=2.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def wait_until(what, predicate, timeout=30.0):
    """Polls predicate() until true; raises after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")


def ensure_installed(command, package):
    if shutil.which(command):
        return True
    if os.geteuid() != 0:
        return False
    print(f"installing {package}...", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", package],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    return shutil.which(command) is not None


# --- /proc ------------------------------------------------------------------

def process_tree(pid):
    """pid and its descendants (nginx's workers are children of its master)."""
    pids = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                for child in f.read().split():
                    pids += process_tree(int(child))
    except OSError:
        pass
    return pids


def cpu_seconds(pid):
    """utime+stime (fields 14 and 15 of /proc/PID/stat) of pid and its children processes."""
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                # The command name (field 2) may hold spaces: split after its ')'.
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total / CLK_TCK


def rss_mib(pid):
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


# --- the systems --------------------------------------------------------------

class System:
    """A set of server processes in a temp dir; start() brings them up, stop() ends them."""

    name = "?"

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []

    def spawn(self, argv, log):
        with open(os.path.join(self.tmp, log), "ab") as f:
            self.procs.append(subprocess.Popen(argv, stdout=f, stderr=f, start_new_session=True))

    def pids(self):
        return [p.pid for p in self.procs]

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []

    def wal_counters(self):
        return None


class Raftkv(System):
    name = "raftkv"

    def __init__(self, tmp, daemon):
        super().__init__(tmp)
        self.daemon = daemon
        self.spec = ";".join(f"{i},127.0.0.1:{RAFTKV_RAFT[i]},127.0.0.1:{RAFTKV_HTTP[i]}"
                             for i in range(3))

    def start(self, run):
        for i in range(3):
            self.spawn([self.daemon, "--node", str(i), "--cluster", self.spec,
                        "--data-dir", os.path.join(self.tmp, f"raftkv-{run}-{i}"),
                        "--log-level", "warn"], f"raftkvd-{i}.log")
        wait_until("raftkv leader", lambda: self.leader() is not None)

    def leader(self):
        status = json.loads(http_get(f"http://127.0.0.1:{RAFTKV_HTTP[0]}/status"))
        return status.get("leader")

    def target(self):
        return ["--cluster", self.spec]

    def wal_counters(self):
        """The leader's raftkv_wal_* counters (leader asked again: it may have changed)."""
        leader = self.leader()
        if leader is None:
            return None
        text = http_get(f"http://127.0.0.1:{RAFTKV_HTTP[leader]}/metrics")
        values = {"leader": leader}
        for line in text.splitlines():
            if line.startswith("raftkv_wal_") and not line.startswith("raftkv_wal_fsync_seconds"):
                name, value = line.split()[:2]
                values[name] = float(value)
        return values


class Etcd(System):
    name = "etcd"

    def start(self, run):
        cluster = ",".join(f"e{i}=http://127.0.0.1:{ETCD_PEER[i]}" for i in range(3))
        for i in range(3):
            client = f"http://127.0.0.1:{ETCD_CLIENT[i]}"
            peer = f"http://127.0.0.1:{ETCD_PEER[i]}"
            self.spawn(["etcd", "--name", f"e{i}",
                        "--data-dir", os.path.join(self.tmp, f"etcd-{run}-{i}"),
                        "--listen-client-urls", client, "--advertise-client-urls", client,
                        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                        "--initial-cluster", cluster, "--initial-cluster-state", "new",
                        "--initial-cluster-token", f"bench-compare-{run}",
                        "--logger", "zap", "--log-level", "error"], f"etcd-{i}.log")
        wait_until("etcd", lambda: '"health":"true"' in http_get(
            f"http://127.0.0.1:{ETCD_CLIENT[0]}/health"))

    def target(self):
        return ["--target", "etcd", "--url",
                ",".join(f"http://127.0.0.1:{p}" for p in ETCD_CLIENT)]


class Nginx(System):
    name = "nginx"

    def start(self, run):
        d = os.path.join(self.tmp, "nginx")
        os.makedirs(d, exist_ok=True)
        self.spawn(nginx_command(d, NGINX_PORT), "nginx.log")
        wait_until("nginx", lambda: http_get(f"http://127.0.0.1:{NGINX_PORT}/") == "ok")

    def target(self):
        return ["--target", "plain", "--url", f"http://127.0.0.1:{NGINX_PORT}/"]




# --- one measurement --------------------------------------------------------

class Sampler:
    """Samples the members' CPU at the start and end of the measured window.

    raftkv-bench's window starts after --warmup (its connections open in a few
    ms) and lasts --duration; a timer thread reads /proc at those two moments.
    """

    def __init__(self, pids, warmup, duration):
        self.pids, self.warmup, self.duration = pids, warmup, duration
        self.before = self.after = None
        self.thread = threading.Thread(target=self.run, daemon=True)

    def total(self):
        return sum(cpu_seconds(p) for p in self.pids)

    def run(self):
        time.sleep(self.warmup)
        self.before = (time.monotonic(), self.total())
        time.sleep(self.duration)
        self.after = (time.monotonic(), self.total())


def measure(args, system, workload, clients, extra):
    """One raftkv-bench run against a running system; returns a result row."""
    bench = os.path.join(args.build, "tools/bench/raftkv-bench")
    argv = [bench, *system.target(), "--clients", str(clients), "--duration", args.duration,
            "--warmup", args.warmup, "--json", "--quiet", *extra]
    wal_before = system.wal_counters() if workload.startswith("writes") else None
    # --prefill runs before the warm-up and takes a moment: sample after it.
    if "--prefill" in extra:
        subprocess.run([bench, *system.target(), "--clients", "16", "--requests", "1",
                        "--prefill", "--keys", "1000", "--value-size", "100", "--quiet"],
                       stdout=subprocess.DEVNULL, check=True, timeout=120)
        argv.remove("--prefill")
    sampler = Sampler(system.pids(), seconds(args.warmup), seconds(args.duration))
    sampler.thread.start()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    sampler.thread.join(timeout=30)
    if out.returncode != 0:
        raise RuntimeError(f"raftkv-bench failed ({out.returncode}): {out.stderr.strip()}")
    r = json.loads(out.stdout)
    row = {"system": system.name, "workload": workload, "clients": clients,
           "ops_per_s": r["throughput"], "ops": r["ops"], "p50_ms": r["latency_ms"]["p50"],
           "p99_ms": r["latency_ms"]["p99"], "p999_ms": r["latency_ms"]["p999"],
           "errors": r["errors_total"]}
    if sampler.after and r["ops"] > 0:
        cpu = sampler.after[1] - sampler.before[1]
        window = sampler.after[0] - sampler.before[0]
        # Operations acknowledged during the sampled window (its length may
        # differ from the bench's by a few ms).
        row["cpu_us_per_op"] = cpu / (r["throughput"] * window) * 1e6
        row["cpu_cores"] = cpu / window
    rss = [rss_mib(p) for p in system.pids()]
    row["rss_mib"] = ",".join(f"{m:.1f}" for m in rss)
    row["rss_max_mib"] = max(rss)
    if wal_before:
        add_wal_figures(row, wal_before, system.wal_counters())
        row["leader"] = wal_before["leader"]
    return row


def add_wal_figures(row, before, after):
    """Entries per fdatasync and per group commit on the leader during the run."""
    if not after or after["leader"] != before["leader"]:
        row["wal_note"] = "leader changed during the run"
        return
    entries_name = ("raftkv_wal_entries_total" if "raftkv_wal_entries_total" in after
                    else "raftkv_wal_entries_written_total")
    entries = after.get(entries_name, 0) - before.get(entries_name, 0)
    fsyncs = after.get("raftkv_wal_fsyncs_total", 0) - before.get("raftkv_wal_fsyncs_total", 0)
    batches = after.get("raftkv_wal_batches_total", 0) - before.get("raftkv_wal_batches_total", 0)
    row["entries_per_fsync"] = entries / fsyncs if fsyncs else 0.0
    row["entries_per_batch"] = entries / batches if batches else 0.0


def log_row(row):
    cpu = f" cpu {row['cpu_us_per_op']:.0f} us/op" if "cpu_us_per_op" in row else ""
    wal = f" {row['entries_per_fsync']:.1f} entries/fsync" if "entries_per_fsync" in row else ""
    leader = f" (leader {row['leader']})" if "leader" in row else ""
    print(f"  {row['system']} {row['workload']} {row['clients']:>3} clients{leader}: "
          f"{row['ops_per_s']:.0f} ops/s p50 {row['p50_ms']:.2f} p99 {row['p99_ms']:.2f} ms "
          f"errors {row['errors']}{cpu}{wal} rss {row['rss_mib']} MiB", file=sys.stderr)


def plan(args, system):
    """The (workload, clients, extra args) measured on a system in one repetition."""
    sweep = [int(c) for c in args.sweep.split(",")]
    if system.name == "nginx":
        return [("get", c, []) for c in sweep]
    # One client lands on member 0, leader or follower as the election went;
    # a follower forwards to the leader and answers when it learns the commit:
    # the leader's own single-client latency is measured too.
    via_leader = ([("writes-via-leader", 1, WRITES + ["--leader-only"])]
                  if system.name == "raftkv" else [])
    return ([("writes", c, WRITES) for c in sweep] + via_leader +
            [("reads", args.read_clients, READS),
             ("stale-reads", args.read_clients, READS + ["--stale"])])


def run_system(args, system, run, rows):
    system.start(run)
    try:
        for workload, clients, extra in plan(args, system):
            row = measure(args, system, workload, clients, extra)
            row["run"] = run
            rows.append(row)
            log_row(row)
    finally:
        system.stop()


# --- summary ----------------------------------------------------------------

FIGURES = ["ops_per_s", "p50_ms", "p99_ms", "p999_ms", "errors", "cpu_us_per_op", "cpu_cores",
           "rss_max_mib", "entries_per_fsync", "entries_per_batch"]


def medians(rows):
    groups = {}
    for row in rows:
        groups.setdefault((row["system"], row["workload"], row["clients"]), []).append(row)
    out = []
    for (system, workload, clients), group in groups.items():
        m = {"system": system, "workload": workload, "clients": clients, "runs": len(group)}
        for figure in FIGURES:
            values = [r[figure] for r in group if figure in r]
            if values:
                m[figure] = statistics.median(values)
        m["ops_per_s_runs"] = [round(r["ops_per_s"]) for r in group]
        if any("leader" in r for r in group):
            m["leader_per_run"] = [r.get("leader") for r in group]
        out.append(m)
    return out


def find(meds, system, workload, clients):
    for m in meds:
        if (m["system"], m["workload"], m["clients"]) == (system, workload, clients):
            return m
    return None


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def table(meds, args):
    lines = [f"Medians of {args.runs} runs, {args.duration} measured after {args.warmup} "
             "warm-up each.", "",
             "| system | workload | clients | ops/s | p50 ms | p99 ms | errors "
             "| CPU µs/op (3 members) | max RSS MiB | entries/fsync | entries/group commit |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for m in meds:
        lines.append(
            f"| {m['system']} | {m['workload']} | {m['clients']} | {m['ops_per_s']:.0f} "
            f"| {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | {m['errors']:.0f} "
            f"| {fmt(m.get('cpu_us_per_op'), '.0f')} | {fmt(m.get('rss_max_mib'), '.0f')} "
            f"| {fmt(m.get('entries_per_fsync'), '.1f')} "
            f"| {fmt(m.get('entries_per_batch'), '.1f')} |")
    return "\n".join(lines + ["", *ratio_lines(meds, args)]) + "\n"


def ratio_lines(meds, args):
    """raftkv's throughput over etcd's and nginx's, same workload and client count."""
    sweep = [int(c) for c in args.sweep.split(",")]
    lines = ["| clients | raftkv writes/s | etcd writes/s | nginx GET/s "
             "| raftkv/etcd | raftkv/nginx | p99 raftkv / etcd ms |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for c in sweep:
        r, e, n = (find(meds, "raftkv", "writes", c), find(meds, "etcd", "writes", c),
                   find(meds, "nginx", "get", c))
        lines.append(ratio_row(str(c), r, e, n))
    if 1 in sweep:
        lines.append(ratio_row("1 (raftkv via leader)", find(meds, "raftkv", "writes-via-leader", 1),
                               find(meds, "etcd", "writes", 1), find(meds, "nginx", "get", 1)))
    rc = args.read_clients
    n = find(meds, "nginx", "get", rc)
    for workload in ("reads", "stale-reads"):
        lines.append(ratio_row(f"{rc} ({workload})", find(meds, "raftkv", workload, rc),
                               find(meds, "etcd", workload, rc), n))
    return lines


def ratio_row(label, r, e, n):
    def ops(m):
        return m["ops_per_s"] if m else None

    def ratio(a, b):
        return f"{ops(a) / ops(b):.2f}x" if a and b and ops(b) else "-"
    p99 = f"{r['p99_ms']:.2f} / {e['p99_ms']:.2f}" if r and e else "-"
    return (f"| {label} | {fmt(ops(r), '.0f')} | {fmt(ops(e), '.0f')} | {fmt(ops(n), '.0f')} "
            f"| {ratio(r, e)} | {ratio(r, n)} | {p99} |")


# --- machine and output ---------------------------------------------------------

def build_commit(build):
    """The commit the build dir was compiled from: its meson source dir's git HEAD
    (with "+changes" when that tree has uncommitted edits), or the COMMIT file of
    an exported tree (git archive has no .git)."""
    try:
        with open(os.path.join(build, "meson-info/meson-info.json")) as f:
            source = json.load(f)["directories"]["source"]
    except (OSError, KeyError, ValueError):
        return "unknown"
    if os.path.exists(os.path.join(source, "COMMIT")):
        with open(os.path.join(source, "COMMIT")) as f:
            return f.read().strip()
    git = ["git", "-C", source]
    head = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(git + ["status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return head + ("+changes" if dirty else "")


def machine(args):
    def first(path, prefix):
        with open(path) as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
        return "?"

    def version(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "not installed"
    commit = build_commit(args.build)
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return {"date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "nproc": os.cpu_count(), "cpu": first("/proc/cpuinfo", "model name"),
            "mem_total": first("/proc/meminfo", "MemTotal"), "kernel": platform.release(),
            "loadavg_start": load, "commit": commit, "build": os.path.abspath(args.build),
            "etcd": version(["etcd", "--version"]), "nginx": version(["nginx", "-v"]),
            "command": " ".join(sys.argv)}


def write_outputs(out, rows, meds, info, text):
    with open(os.path.join(out, "runs.json"), "w") as f:
        json.dump(rows, f, indent=1)
    with open(os.path.join(out, "medians.json"), "w") as f:
        json.dump({"machine": info, "medians": meds}, f, indent=1)
    for name, data in (("runs.csv", rows), ("medians.csv", meds)):
        keys = []
        for d in data:
            keys += [k for k in d if k not in keys]
        with open(os.path.join(out, name), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(data)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(text)


def main():
    args = parse_args()
    daemon = os.path.join(args.build, "daemon/raftkvd")
    for binary in (daemon, os.path.join(args.build, "tools/bench/raftkv-bench")):
        if not os.access(binary, os.X_OK):
            sys.exit(f"bench-compare: {binary} missing: build it first "
                     f"(meson compile -C {args.build} raftkvd raftkv-bench)")
    out = args.out or os.path.join(tempfile.gettempdir(), "bench-compare-results-"
                                   + time.strftime("%Y%m%dT%H%M%S"))
    os.makedirs(out, exist_ok=True)
    info = machine(args)
    print(f"bench-compare: commit {info['commit']}, load {info['loadavg_start']}, "
          f"output in {out}", file=sys.stderr)
    tmp = tempfile.mkdtemp(prefix="bench-compare.")
    systems = [Raftkv(tmp, daemon)]
    if not args.no_etcd and ensure_installed("etcd", "etcd-server"):
        systems.append(Etcd(tmp))
    if not args.no_nginx and ensure_installed("nginx", "nginx-light"):
        systems.append(Nginx(tmp))
    # SIGTERM unwinds like Ctrl-C so that the finally blocks stop every process.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    rows = []
    try:
        for run in range(1, args.runs + 1):
            for system in systems:
                print(f"run {run}/{args.runs}: {system.name}", file=sys.stderr)
                run_system(args, system, run, rows)
    finally:
        for system in systems:
            system.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    meds = medians(rows)
    text = table(meds, args)
    write_outputs(out, rows, meds, info, text)
    print(text)


if __name__ == "__main__":
    main()
