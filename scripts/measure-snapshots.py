#!/usr/bin/env python3
"""Measures snapshots at scale (issue 8's closing numbers): a 3-member
cluster with default settings takes 1,000,000 writes over 100,000 keys
(raftkv-bench), then this prints, per member, the data dir size and resident
memory; the time to take a snapshot (POST /snapshot, and the daemon's own
metric); the time to restart a member from its snapshot plus log tail; and
the time to bring a fresh follower (wiped data dir) up to date by
InstallSnapshot. One JSON line, then a readable table.

  scripts/measure-snapshots.py [--build DIR] [--dir PARENT] [--requests N] [--keys N]
                               [--clients N] [--load-timeout S] [--phase-timeout S]
                               [-- extra raftkvd flags]

Binaries come from --build, else build-release/, else the newest build*/
holding daemon/raftkvd. Data dirs go under --dir (default $TMPDIR or /tmp):
put it on the disk you want to measure, not on a tmpfs. Every phase has a
deadline; the script exits 1 naming the phase that missed it. Not run in CI.
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(REPO, "test", "integration"))
import harness  # noqa: E402


class PhaseTimeout(Exception):
    pass


# --------------------------------------------------------------------------
# Binaries and the cluster's state


def find_build(explicit) -> str:
    if explicit:
        return os.path.abspath(explicit)
    release = os.path.join(REPO, "build-release")
    if os.access(os.path.join(release, "daemon", "raftkvd"), os.X_OK):
        return release
    cands = sorted(glob.glob(os.path.join(REPO, "build*", "daemon", "raftkvd")),
                   key=os.path.getmtime, reverse=True)
    if not cands:
        sys.exit("no build*/daemon/raftkvd: build first (meson setup build-release "
                 "--buildtype=release && ninja -C build-release)")
    return os.path.dirname(os.path.dirname(cands[0]))


def tool(build: str, rel: str) -> str:
    path = os.path.join(build, rel)
    if not os.access(path, os.X_OK):
        sys.exit(f"{path} missing: build it (ninja -C {build} {rel})")
    return path


def wait_for(cond, timeout: float, what: str, interval: float = 0.05):
    try:
        return harness.wait_until(cond, timeout, what, interval=interval)
    except harness.Timeout as e:
        raise PhaseTimeout(str(e)) from None


def snapshot_metrics(m: dict) -> dict:
    return {k: v for k, v in m.items() if "snapshot" in k and not k.endswith("_bucket")}


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def dir_usage(d: str) -> dict:
    """Bytes on disk (allocated blocks, as du) and apparent bytes, in total
    and for the WAL segments and the snapshot files."""
    out = {"bytes": 0, "apparent_bytes": 0, "wal_bytes": 0, "wal_files": 0, "snap_bytes": 0,
           "snap_files": 0}
    for root, _dirs, files in os.walk(d):
        for name in files:
            st = os.stat(os.path.join(root, name))
            out["bytes"] += st.st_blocks * 512
            out["apparent_bytes"] += st.st_size
            if name.endswith(".wal"):
                out["wal_bytes"] += st.st_size
                out["wal_files"] += 1
            elif name.endswith(".snap"):
                out["snap_bytes"] += st.st_size
                out["snap_files"] += 1
    return out


def member_report(c, i: int) -> dict:
    st = c.must_status(i, timeout=10)
    m = c.metrics(i)
    return {
        "member": i, "role": st.get("role"), "applied_index": st.get("applied_index"),
        "snapshot_index": st.get("snapshot_index"), "first_log_index": st.get("first_log_index"),
        "last_log_index": st.get("last_log_index"), "keys": st.get("keys"),
        "rss_kib": rss_kib(c.members[i].proc.pid), "data_dir": dir_usage(c.members[i].data_dir),
        "snapshot_metrics": snapshot_metrics(m),
    }


def applied_at_least(c, i: int, index: int):
    st = c.status(i, timeout=2)
    return st if st and st.get("applied_index", 0) >= index else None


# --------------------------------------------------------------------------
# Phases


def load(c, bench: str, a) -> dict:
    cmd = [bench, "--cluster", c.spec(), "--requests", str(a.requests), "--writes", "100",
           "--keys", str(a.keys), "--clients", str(a.clients), "--json", "--quiet"]
    print(f"load: {' '.join(cmd)}", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=a.load_timeout)
    except subprocess.TimeoutExpired:
        raise PhaseTimeout(f"raftkv-bench did not finish within {a.load_timeout}s") from None
    if r.returncode != 0:
        raise SystemExit(f"raftkv-bench exit {r.returncode}: {r.stderr[-1000:]}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out["wall_s"] = round(time.monotonic() - t0, 2)
    return out


def settle(c, timeout: float) -> int:
    """Waits until every member applied the leader's commit index; returns it."""
    lead = c.wait_for_leader(timeout=timeout)
    commit = c.must_status(lead)["commit_index"]
    for i in range(c.n):
        wait_for(lambda i=i: applied_at_least(c, i, commit), timeout,
                 f"member {i} to apply up to {commit}")
    return commit


def take_snapshot(c, lead: int, timeout: float) -> dict:
    before = snapshot_metrics(c.metrics(lead))
    t0 = time.monotonic()
    r = c.request(lead, "POST", "/snapshot", timeout=timeout)
    elapsed = time.monotonic() - t0
    if r.status != 200:
        raise SystemExit(f"POST /snapshot: {r}")
    after = snapshot_metrics(c.metrics(lead))
    return {"member": lead, "post_snapshot_s": round(elapsed, 3), "answer": r.json(),
            "metrics_before": before, "metrics_after": after}


def restart_member(c, i: int, timeout: float) -> dict:
    """kill -9 of member i, start it, time until it serves /status and until
    it applied the commit index it had before."""
    target = c.must_status(i)["commit_index"]
    c.kill9(i)
    t0 = time.monotonic()
    c.start_member(i)
    wait_for(lambda: c.status(i, timeout=1) is not None, timeout, f"member {i} to serve")
    serving = time.monotonic() - t0
    wait_for(lambda: applied_at_least(c, i, target), timeout,
             f"member {i} to apply up to {target}")
    caught_up = time.monotonic() - t0
    return {"member": i, "target_index": target, "serving_s": round(serving, 3),
            "applied_s": round(caught_up, 3), "recovery_log": recovery_line(c, i),
            "after": member_report(c, i)}


def recovery_line(c, i: int) -> str:
    """The daemon's own account of its last recovery (what it loaded, how
    long it took), from its log."""
    lines = [l for l in c.log_text(i).splitlines() if f"member {i} recovered" in l]
    return lines[-1].split(" ", 3)[-1] if lines else ""


def fresh_follower(c, i: int, timeout: float) -> dict:
    """SIGTERM member i, wipe its data dir, start it: time until it applied
    the leader's commit index (by InstallSnapshot, then the log tail)."""
    c.stop(i, timeout=60)
    shutil.rmtree(c.members[i].data_dir)
    lead = c.wait_for_leader(timeout=timeout, ids=[j for j in range(c.n) if j != i])
    target = c.must_status(lead)["commit_index"]
    t0 = time.monotonic()
    c.start_member(i)
    wait_for(lambda: c.status(i, timeout=1) is not None, timeout, f"member {i} to serve")
    wait_for(lambda: applied_at_least(c, i, target), timeout,
             f"fresh member {i} to apply up to {target}", interval=0.02)
    elapsed = time.monotonic() - t0
    return {"member": i, "target_index": target, "caught_up_s": round(elapsed, 3),
            "after": member_report(c, i)}


# --------------------------------------------------------------------------
# Output


def mib(n) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def print_table(res: dict) -> None:
    print(f"\n{res['load']['ops']} writes over {res['keys']} keys in "
          f"{res['load']['duration_s']:.1f}s ({res['load']['throughput']:.0f}/s, "
          f"{res['load']['errors_total']} errors), {res['clients']} clients; commit index "
          f"{res['commit_index']}")
    print(f"\n{'member':>6} {'role':>9} {'RSS':>11} {'data dir':>11} {'segments':>17} "
          f"{'snapshots':>17} {'snap idx':>9} {'log':>17}")
    for m in res["members"]:
        d = m["data_dir"]
        print(f"{m['member']:>6} {m['role']:>9} {mib(m['rss_kib'] * 1024):>11} "
              f"{mib(d['bytes']):>11} {d['wal_files']:>3} / {mib(d['wal_bytes']):>11} "
              f"{d['snap_files']:>3} / {mib(d['snap_bytes']):>11} {m['snapshot_index']!s:>9} "
              f"{m['first_log_index']!s:>8}..{m['last_log_index']!s:<8}")
    s = res["snapshot"]
    print(f"\nPOST /snapshot on member {s['member']}: {s['post_snapshot_s']:.3f}s -> "
          f"{s['answer']}")
    changed = {k: v for k, v in s["metrics_after"].items() if s["metrics_before"].get(k) != v}
    for k, v in sorted(changed.items()):
        print(f"  {k} = {v:g}")
    r = res["restart"]
    print(f"restart of member {r['member']} (kill -9, start): serving after "
          f"{r['serving_s']:.3f}s, applied {r['target_index']} after {r['applied_s']:.3f}s; "
          f"RSS {mib(r['after']['rss_kib'] * 1024)}")
    print(f"  daemon: {r['recovery_log']}")
    f = res["fresh"]
    print(f"fresh follower {f['member']} (wiped data dir): applied {f['target_index']} after "
          f"{f['caught_up_s']:.3f}s; snapshot index {f['after']['snapshot_index']}, RSS "
          f"{mib(f['after']['rss_kib'] * 1024)}, data dir {mib(f['after']['data_dir']['bytes'])}")
    print(f"\nbinaries: {res['build']}; data under {res['dir']}; total {res['total_s']:.0f}s")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", help="build dir (default build-release/, else newest build*/)")
    p.add_argument("--dir", help="parent of the data dirs (default $TMPDIR or /tmp)")
    p.add_argument("--requests", type=int, default=1_000_000)
    p.add_argument("--keys", type=int, default=100_000)
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--load-timeout", type=float, default=1800, help="seconds for the load (1800)")
    p.add_argument("--phase-timeout", type=float, default=300,
                   help="seconds for every other phase (300)")
    own, extra = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv \
        else (argv, [])
    a = p.parse_args(own)
    a.extra = extra
    return a


def main(argv) -> int:
    a = parse_args(argv)
    build = find_build(a.build)
    harness.RAFTKVD = tool(build, "daemon/raftkvd")
    bench = tool(build, "tools/bench/raftkv-bench")
    if a.dir:
        os.makedirs(a.dir, exist_ok=True)
        tempfile.tempdir = a.dir
    t_start = time.monotonic()
    res = {"build": build, "requests": a.requests, "keys": a.keys, "clients": a.clients,
           "raftkvd_flags": a.extra}
    try:
        with harness.Cluster(3, extra_args=a.extra, name="measure-snapshots", fast=False) as c:
            res["dir"] = c.tmp
            c.wait_for_leader(timeout=30)
            res["load"] = load(c, bench, a)
            res["commit_index"] = settle(c, a.phase_timeout)
            res["members"] = [member_report(c, i) for i in range(3)]
            lead = c.wait_for_leader(timeout=a.phase_timeout)
            res["snapshot"] = take_snapshot(c, lead, a.phase_timeout)
            follower = c.followers(lead)
            res["restart"] = restart_member(c, follower[0], a.phase_timeout)
            lead = c.wait_for_leader(timeout=a.phase_timeout)
            res["fresh"] = fresh_follower(c, c.followers(lead)[-1], a.phase_timeout)
    except PhaseTimeout as e:
        print(f"measure-snapshots: phase deadline missed: {e}", file=sys.stderr)
        print(json.dumps(res))
        return 1
    res["total_s"] = round(time.monotonic() - t_start, 1)
    print(json.dumps(res))
    print_table(res)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
