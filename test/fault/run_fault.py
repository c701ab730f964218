#!/usr/bin/env python3
"""Jepsen-style fault-injection run for raftkv (Python 3.11 standard library).

Starts a 3- (or --nodes 5) member raftkvd cluster, each member in a network
namespace of its own (see netns.py), runs >= 10 concurrent clients doing
random writes, linearizable reads, compare-and-set, create-only and deletes
on ~5 keys, while a nemesis kills, pauses, partitions and degrades the
network. Then it heals, waits for convergence, reads every key from every
member, and checks:

  1. linearizability of every key's history (final reads included) with
     test/integration/linearizability.py;
  2. no lost acknowledged write: final linearizable and stale reads agree on
     every member, and with the history (they are part of it);
  3. every member's log agrees (raftkv-dump --json of each data dir, entry
     by entry up to the common commit index, where two or more logs still
     hold the entry), else /status commit indexes; with snapshots, each
     member's newest snapshot (index, term) is committed, agrees with the
     others' logs and snapshots, and its log goes on right after it;
  4. no two leaders in one term among the /status answers seen; every
     answer is one the contract allows.

Snapshot mode (--snapshot-entries N, with a small --snapshot-trailing):
members compact their logs all the time, so members that come back from a
kill or a partition are brought up to date by InstallSnapshot; the run also
fails if no member installed a snapshot.

Exit: 0 all checks passed; 1 a check failed (run dir kept, the smallest
non-linearizable sub-history printed); 2 bad command line; 77 no daemon
binary. With --expect-violation: 0 only if a linearizability violation was
found. See docs/fault-testing.md.
"""

from __future__ import annotations

import argparse
import collections
import glob
import http.client
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import linearizability as lin  # noqa: E402
import membership_nemesis  # noqa: E402
import netns  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
DAEMON_FLAGS = ["--heartbeat-interval", "50", "--election-timeout", "500",
                "--request-timeout", "800"]
# --snapshot-trailing when only --snapshot-entries is given: small, so that a
# member that was down or cut off for a few seconds needs InstallSnapshot.
DEFAULT_SNAPSHOT_TRAILING = 20
EVENT_KINDS = ["kill", "pause-leader", "isolate-leader", "split", "net-degrade", "membership"]


# --------------------------------------------------------------------------
# Output

T0 = time.monotonic()
_print_lock = threading.Lock()


def now() -> float:
    return time.monotonic() - T0


def say(msg: str) -> None:
    with _print_lock:
        print(f"[{now():8.3f}] {msg}", flush=True)


# --------------------------------------------------------------------------
# History

class History:
    """Thread-safe list of completed operations, mirrored to JSON lines."""

    def __init__(self, path: str):
        self.path = path
        self.f = open(path, "w")
        self.lock = threading.Lock()
        self.ops: list[lin.Op] = []
        self.counts = collections.Counter()        # (kind, status)
        self.unexpected: list[dict] = []
        self.member_of: dict = {}                    # (client, invoke) -> member

    def add(self, op: lin.Op, member: Optional[int], http_status: Optional[int],
            error: Optional[str], body: Optional[str]) -> None:
        rec = lin.op_to_json(op)
        rec.update(member=member, http_status=http_status, error=error,
                   body=None if body is None else body[:200])
        with self.lock:
            self.ops.append(op)
            self.member_of[(op.client, op.invoke)] = member
            self.counts[(op.kind, op.status)] += 1
            self.f.write(json.dumps(rec) + "\n")
            if http_status is not None and not _expected(op.kind, http_status):
                self.unexpected.append(rec)

    def close(self) -> None:
        with self.lock:
            if not self.f.closed:
                self.f.close()


def _expected(kind: str, code: int) -> bool:
    if code in (200, 503, 504):
        return True
    if code == 404:
        return kind in ("read", "delete")
    if code == 412:
        return kind in ("cas", "create")
    return False


# --------------------------------------------------------------------------
# Runner

class Runner:
    def __init__(self, a: argparse.Namespace, raftkvd: str):
        self.a = a
        self.raftkvd = raftkvd
        self.rng = random.Random(a.seed)
        self.net: Optional[netns.Net] = None
        self.cluster: Optional[harness.Cluster] = None
        self.history: Optional[History] = None
        self.events: list[dict] = []
        self.event_file = None
        self.stop_clients = threading.Event()
        self.keys_used: set[str] = set()
        self.keys_lock = threading.Lock()
        self.recent: dict[str, list[str]] = collections.defaultdict(list)
        self.probe_n = 0
        self.failures: list[str] = []
        self.notes: list[str] = []
        self.violation: Optional[lin.Result] = None
        self.witness_text = ""
        self.cleaned = False
        self.mode = "netns"
        # Snapshots installed per member life, keyed (member, start count):
        # a restart resets the daemon's counters.
        self.installs: dict[tuple[int, int], float] = {}
        # --membership: adds and removes members (membership_nemesis.py).
        self.membership: Optional[membership_nemesis.MembershipNemesis] = None

    def member_ids(self) -> list[int]:
        """The members (slots) of the configuration: --nodes, or with
        --membership the configuration the leader last reported."""
        return self.membership.ids() if self.membership else list(range(self.a.nodes))

    # ---- environment ----------------------------------------------------
    def setup(self) -> None:
        a = self.a
        use_netns = not a.no_netns
        spares = a.spares if a.membership else 0
        why = "--no-netns given"
        if use_netns and os.geteuid() != 0:
            use_netns, why = False, "not root"
        if use_netns:
            miss = netns.ensure_tools(say, install=not a.no_install)
            if "ip" in miss or "nft" in miss:
                use_netns = False
                why = f"missing tools {sorted(miss)} (packages {sorted(set(miss.values()))})"
        if use_netns:
            try:
                netns.sweep_stale(say)
                self.net = netns.Net(a.nodes + spares, log=say)
                self.net.setup()
                self.net.probe_features()
            except netns.NetError as e:
                why = f"cannot create network namespaces: {e}"
                if self.net:
                    self.net.teardown()
                self.net = None
                use_netns = False
        if not use_netns:
            self.mode = "loopback"
            self.notes.append(f"FALLBACK: loopback cluster, process faults only ({why})")
            say(f"FALLBACK: loopback cluster with process faults only ({why}); "
                "no partitions, no packet loss")
        else:
            say(f"network: namespaces {self.net.br_ns}, {', '.join(self.net.member_ns)}; "
                f"subnet {self.net.subnet}.0/24, clients at {self.net.client_addr}")
            if self.net.netem:
                say("tc netem: supported (delay + loss)")
            elif self.net.nft_loss:
                self.notes.append("tc netem not supported by this kernel: packet delay skipped, "
                                  "packet loss done with nft numgen")
                say("tc netem: NOT supported by this kernel: packet delay skipped; "
                    "packet loss done with nft numgen instead")
            else:
                self.notes.append("tc netem and nft numgen not supported: net-degrade skipped")
                say("tc netem and nft numgen: not supported: delay/loss events skipped")

        harness.RAFTKVD = self.raftkvd
        kw = {}
        if self.net:
            kw = dict(hosts=[self.net.addr(i) for i in range(a.nodes + spares)],
                      netns=self.net.member_ns,
                      fixed_ports=(netns.Net.RAFT_PORT, netns.Net.HTTP_PORT))
        if a.membership:
            self.cluster = membership_nemesis.MembershipCluster(
                a.nodes, spares, extra_args=daemon_flags(a), name="fault", fast=False,
                start=False, keep=True, **kw)
            self.membership = membership_nemesis.MembershipNemesis(self, self.cluster, say)
        else:
            self.cluster = harness.Cluster(n=a.nodes, extra_args=daemon_flags(a), name="fault",
                                           fast=False, start=False, keep=True, **kw)
        self.run_dir = self.cluster.tmp
        say(f"run dir: {self.run_dir}")
        self.history = History(os.path.join(self.run_dir, "history.jsonl"))
        self.event_file = open(os.path.join(self.run_dir, "nemesis.jsonl"), "w")
        self.cluster.start()
        lead = self.cluster.wait_for_leader(timeout=20)
        say(f"cluster of {a.nodes} up, leader {lead}: {self.cluster.spec()}")

    def cleanup(self) -> None:
        """Processes, then rules and namespaces. Idempotent; runs from
        finally, atexit and the signal handlers."""
        if self.cleaned:
            return
        self.cleaned = True
        self.stop_clients.set()
        try:
            if self.cluster:
                self.cluster.cleanup()
            harness.cleanup_all()
        finally:
            if self.net:
                self.net.teardown()
            if self.history:
                self.history.close()
            if self.event_file and not self.event_file.closed:
                self.event_file.close()

    # ---- nemesis log ----------------------------------------------------
    def event(self, kind: str, phase: str, **detail) -> None:
        rec = {"t": round(now(), 4), "wall": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "kind": kind, "phase": phase, **detail}
        self.events.append(rec)
        if self.event_file and not self.event_file.closed:
            self.event_file.write(json.dumps(rec) + "\n")
            self.event_file.flush()
        d = " ".join(f"{k}={v}" for k, v in detail.items())
        say(f"nemesis {kind} {phase} {d}")

    # ---- client operations ----------------------------------------------
    def key_for(self, slot: int) -> str:
        life = self.a.key_lifetime
        gen = int((now() + slot * life / self.a.keys) // life)
        k = f"k{slot}g{gen}"
        with self.keys_lock:
            self.keys_used.add(k)
        return k

    def do_op(self, client, member: int, kind: str, key: str, value: Optional[str] = None,
              old: Optional[str] = None, stale: bool = False, timeout: Optional[float] = None,
              ) -> lin.Op:
        m = self.cluster.members[member]
        kp = harness.kv_path
        if kind == "write":
            method, path, body = "PUT", kp(key), value
        elif kind == "cas":
            method, path, body = "PUT", kp(key, prev=old), value
        elif kind == "create":
            method, path, body = "PUT", kp(key, prev_exists="false"), value
        elif kind == "delete":
            method, path, body = "DELETE", kp(key), None
        else:
            method, path, body = "GET", (kp(key, stale="true") if stale else kp(key)), None
        code, rbody, err, refused = None, None, None, False
        t_inv = now()
        try:
            r = harness.http_request(m.http_port, method, path, body,
                                     timeout=timeout or self.a.client_timeout, host=m.host)
            code, rbody = r.status, r.body.decode("utf-8", errors="replace")
        except ConnectionRefusedError as e:
            refused, err = True, repr(e)
        except (OSError, http.client.HTTPException) as e:
            err = repr(e)
        t_done = now()
        if refused:
            # Nothing was sent: definitely no effect.
            op = lin.Op(key, kind, t_inv, t_done, "fail", value=value, old=old, client=client)
        else:
            op = lin.op_from_http(kind, key, t_inv, t_done, code, rbody, value=value, old=old,
                                  client=client)
        self.history.add(op, member, code, err, rbody)
        if op.status == "ok" and kind in ("read", "write", "cas", "create"):
            v = op.result if kind == "read" else value
            if v is not None:
                rec = self.recent[key]
                rec.append(v)
                del rec[:-4]
        return op

    def client_loop(self, cid: int, end: float) -> None:
        rng = random.Random(f"{self.a.seed}-client-{cid}")
        seq = 0
        limit = 10_000_000
        while seq < limit and not self.stop_clients.is_set() and now() < end:
            seq += 1
            key = self.key_for(rng.randrange(self.a.keys))
            member = rng.choice(self.member_ids())
            x = rng.random()
            value = f"c{cid}-{seq}"
            try:
                if x < 0.35:
                    self.do_op(cid, member, "read", key, stale=self.a.stale_reads)
                elif x < 0.60:
                    self.do_op(cid, member, "write", key, value)
                elif x < 0.80:
                    rec = list(self.recent.get(key, ()))
                    old = rng.choice(rec) if rec and rng.random() < 0.9 else f"none-{cid}"
                    self.do_op(cid, member, "cas", key, value, old=old)
                elif x < 0.90:
                    self.do_op(cid, member, "create", key, value)
                else:
                    self.do_op(cid, member, "delete", key)
            except Exception:  # noqa: BLE001 - a client bug must not hang the run
                say(f"client {cid} crashed:\n{traceback.format_exc()}")
                self.failures.append(f"client {cid} raised an exception")
                return
            if self.a.think_ms > 0:
                self.stop_clients.wait(rng.uniform(0, 2 * self.a.think_ms) / 1000)

    # ---- cluster state --------------------------------------------------
    def statuses(self, ids=None) -> dict[int, dict]:
        out = {}
        for i in (self.member_ids() if ids is None else ids):
            st = self.cluster.status(i, timeout=0.5)
            if st is not None:
                out[i] = st
        return out

    def find_leader(self, ids=None, min_term: int = -1, timeout: float = 5.0) -> Optional[int]:
        """The member with role=leader and the highest term among ids (a
        condition waited for with a deadline), or None."""
        def cond():
            sts = self.statuses(ids)
            leads = [(st["term"], i) for i, st in sts.items()
                     if st.get("role") == "leader" and st.get("term", -1) > min_term]
            return (max(leads)[1] + 1) if leads else None
        try:
            return harness.wait_until(cond, timeout, "a leader", interval=0.05) - 1
        except harness.Timeout:
            return None

    def sample_installs(self, ids=None) -> None:
        """Records each member's count of installed snapshots (/metrics)."""
        for i in (range(self.cluster.n) if ids is None else ids):
            m = self.cluster.members[i]
            if not m.running() or m.paused:
                continue
            r = self.cluster.try_request(i, "GET", "/metrics", timeout=2.0)
            if r is None or r.status != 200:
                continue
            n = snapshot_installs(r.text())
            key = (i, m.starts)
            self.installs[key] = max(n, self.installs.get(key, 0))

    def total_installs(self) -> int:
        return int(sum(self.installs.values()))

    # ---- nemesis --------------------------------------------------------
    def hold(self, seconds: float, end: float) -> None:
        """Pacing by time (the nemesis schedule), cut at the run's end."""
        t = max(0.0, min(seconds, end - now()))
        self.stop_clients.wait(t)

    def nem_kill(self, end: float) -> None:
        c = self.cluster
        i = self.rng.choice([m.id for m in c.members if m.running()])
        self.sample_installs([i])
        self.event("kill", "start", member=i, signal="SIGKILL")
        c.kill9(i)
        self.hold(self.rng.uniform(*self.a.hold), end)
        c.start_member(i)
        c.wait_serving([i], timeout=15)
        self.event("kill", "healed", member=i, restarted=True)

    def nem_pause(self, end: float) -> None:
        c = self.cluster
        lead = self.find_leader()
        i = lead if lead is not None else self.rng.choice(self.member_ids())
        self.event("pause-leader", "start", member=i, leader=lead is not None, signal="SIGSTOP")
        c.pause(i)
        try:
            self.hold(self.rng.uniform(*self.a.hold), end)
        finally:
            c.resume(i)
        self.event("pause-leader", "healed", member=i, signal="SIGCONT")

    def nem_isolate(self, end: float, probe: bool = True) -> None:
        """Partitions the leader from the other members (clients still reach
        it). Then, as a targeted probe, writes a fresh key through the new
        majority leader and reads it from the old leader: stale when the old
        leader answers from its own state."""
        lead = self.find_leader()
        if lead is None:
            lead = self.rng.choice(self.member_ids())
        old_term = (self.cluster.status(lead) or {}).get("term", -1)
        others = [j for j in range(self.cluster.n) if j != lead]
        self.event("isolate-leader", "start", leader=lead, groups=[[lead], others])
        self.net.partition([[lead], others])
        t_start = now()
        try:
            if probe:
                self.probe_stale(lead, others, old_term)
            self.hold(self.rng.uniform(*self.a.hold) - (now() - t_start), end)
        finally:
            self.net.heal()
        self.event("isolate-leader", "healed", leader=lead)

    def probe_stale(self, old: int, majority: list[int], old_term: int) -> None:
        self.probe_n += 1
        key = f"probe{self.probe_n}"
        with self.keys_lock:
            self.keys_used.add(key)
        new = self.find_leader(majority, min_term=old_term, timeout=10)
        if new is None:
            self.event("probe", "skipped", reason="no new leader in the majority within 10 s")
            return
        value = f"probe{self.probe_n}-v1"
        ok = False
        deadline = now() + 8.0
        for attempt in range(20):
            if now() > deadline:
                break
            op = self.do_op("probe", new, "write", key, value, timeout=2.0)
            if op.status == "ok":
                ok = True
                break
            if op.status == "info":
                break   # may have applied: keep the history simple, stop here
        if not ok:
            self.event("probe", "skipped", reason="write through the majority not acknowledged")
            return
        op = self.do_op("probe", old, "read", key, stale=self.a.stale_reads)
        res = (op.result if op.status == "ok" else
               ("indeterminate" if op.status == "info" else "no effect"))
        self.event("probe", "read", key=key, written_via=new, read_from=old,
                   stale=self.a.stale_reads, result=res,
                   stale_read=(op.status == "ok" and op.result != value))

    def nem_split(self, end: float) -> None:
        ids = list(range(self.cluster.n))  # every slot: a member joining may be anywhere
        self.rng.shuffle(ids)
        k = self.rng.randint(1, (self.a.nodes - 1) // 2)
        groups = [sorted(ids[:k]), sorted(ids[k:])]
        self.event("split", "start", minority=groups[0], majority=groups[1])
        self.net.partition(groups)
        try:
            self.hold(self.rng.uniform(*self.a.hold), end)
        finally:
            self.net.heal()
        self.event("split", "healed")

    def nem_degrade(self, end: float) -> None:
        if self.net.netem:
            d, j, l = self.rng.choice([(20, 10, 5), (50, 20, 10), (100, 50, 2)])
            self.event("net-degrade", "start", how="tc netem", delay_ms=d, jitter_ms=j, loss_pct=l)
            self.net.netem_on(d, j, l)
        else:
            p = self.rng.choice([10, 25, 40])
            self.event("net-degrade", "start", how="nft numgen (no netem)", loss_pct=p)
            self.net.loss(p)
        try:
            self.hold(self.rng.uniform(*self.a.hold), end)
        finally:
            self.net.heal()
        self.event("net-degrade", "healed")

    def nemesis(self, end: float) -> None:
        kinds = ["kill", "pause-leader"]
        if self.net:
            kinds += ["isolate-leader", "split"]
            if self.net.netem or self.net.nft_loss:
                kinds.append("net-degrade")
        if self.membership:
            kinds += ["membership", "membership"]  # twice per round: adds and removes
        if self.a.nemesis:
            kinds = [k for k in kinds if k in self.a.nemesis]
        fns = {"kill": self.nem_kill, "pause-leader": self.nem_pause,
               "isolate-leader": self.nem_isolate, "split": self.nem_split,
               "net-degrade": self.nem_degrade,
               "membership": self.membership.step if self.membership else None}
        self.hold(self.a.warmup, end)
        if self.a.stale_reads and self.net and now() < end:
            # The stale-read mode's schedule starts with the event that
            # produces the stale read for sure.
            self.nem_isolate(end)
            self.hold(self.rng.uniform(*self.a.quiet), end)
        order: list[str] = []
        rounds = 0
        while now() < end - 1.0 and kinds and rounds < 100000:
            rounds += 1
            if not order:
                order = list(kinds)
                self.rng.shuffle(order)
            kind = order.pop()
            fns[kind](end)
            self.hold(self.rng.uniform(*self.a.quiet), end)

    # ---- after the run --------------------------------------------------
    def heal_all(self) -> None:
        c = self.cluster
        if self.net:
            self.net.heal()
            left = self.net.rules_present()
            if left:
                self.failures.append(f"fault rules still present in {left}")
        for m in c.members:
            if m.running() and m.paused:
                c.resume(m.id)
        if self.membership:
            self.membership.settle()
        for m in c.members:
            if m.id not in self.member_ids():
                continue
            if not m.running():
                say(f"member {m.id} not running at the end: restarting it")
                c.start_member(m.id)
        c.wait_serving(self.member_ids(), timeout=15)
        self.event("heal", "all", note="every fault removed, every member running")

    def wait_converged(self, timeout: float) -> dict[int, dict]:
        def cond():
            sts = self.statuses()
            if len(sts) != len(self.member_ids()):
                return None
            s = list(sts.values())
            commit = {st.get("commit_index") for st in s}
            applied = {st.get("applied_index") for st in s}
            lead = {st.get("leader") for st in s}
            term = {st.get("term") for st in s}
            if len(commit) == 1 and commit == applied and len(lead) == 1 and len(term) == 1 \
                    and None not in lead and sum(st.get("role") == "leader" for st in s) == 1:
                return sts
            return None
        t = now()
        try:
            sts = harness.wait_until(cond, timeout, "all members to converge", interval=0.1)
        except harness.Timeout as e:
            self.failures.append(f"no convergence: {e}; statuses: {self.statuses()}")
            return self.statuses()
        st0 = next(iter(sts.values()))
        say(f"converged in {now() - t:.2f}s: term {st0['term']}, leader {st0['leader']}, "
            f"commit=applied={st0['commit_index']} on all {len(sts)} members")
        return sts

    def final_reads(self) -> None:
        """Linearizable and stale reads of every key on every member,
        appended to the history (after every other operation)."""
        with self.keys_lock:
            keys = sorted(self.keys_used)
        seen: dict[str, dict] = {}
        for key in keys:
            vals = {}
            for i in self.member_ids():
                for stale in (False, True):
                    op = None
                    for attempt in range(10):
                        op = self.do_op("final", i, "read", key, stale=stale, timeout=5.0)
                        if op.status == "ok":
                            break
                    vals[(i, "stale" if stale else "linearizable")] = (
                        op.result if op.status == "ok" else f"<{op.status}>")
            seen[key] = vals
            distinct = set(vals.values())
            if len(distinct) != 1:
                self.failures.append(f"final reads of {key!r} disagree: "
                                     + ", ".join(f"member {i} {k}: {v!r}"
                                                 for (i, k), v in sorted(vals.items())))
        with open(os.path.join(self.run_dir, "final-reads.json"), "w") as f:
            json.dump({k: {f"{i}/{kind}": v for (i, kind), v in d.items()}
                       for k, d in seen.items()}, f, indent=1)
        say(f"final reads: {len(keys)} keys x {len(self.member_ids())} members x "
            "(linearizable, stale) done")

    def find_dump(self) -> Optional[str]:
        cands = [self.a.raftkv_dump, os.environ.get("RAFTKV_DUMP"),
                 os.path.join(os.path.dirname(self.raftkvd), "..", "tools", "dump", "raftkv-dump")]
        cands += sorted(glob.glob(os.path.join(REPO, "build*", "tools", "dump", "raftkv-dump")),
                        key=os.path.getmtime, reverse=True)
        for c in cands:
            if c and os.access(c, os.X_OK):
                return os.path.abspath(c)
        return None

    def check_logs(self, sts: dict[int, dict]) -> str:
        """Stops every member (SIGTERM, exit 0 expected) and compares their
        logs entry by entry up to the common commit index."""
        c = self.cluster
        for m in c.members:
            if m.running():
                try:
                    c.stop(m.id, timeout=15)
                except AssertionError as e:
                    self.failures.append(f"member {m.id} clean shutdown: {e}")
        dump = self.find_dump()
        commits = {i: st.get("commit_index") for i, st in sts.items()}
        if not dump:
            how = ("raftkv-dump not found: compared /status commit/applied indexes and the "
                   "stale reads of every key instead")
            say(f"log check: {how}")
            return how
        logs, snaps, below = {}, {}, {}
        for m in c.members:
            # Removed members' logs stop at their removal (and may end with
            # entries the others truncated): only the configuration's count.
            if m.id in self.member_ids():
                snaps[m.id], logs[m.id], below[m.id] = self.read_dump(dump, m)
        upto = min((v for v in commits.values() if isinstance(v, int)), default=0)
        compared = 0
        bad = []
        for idx in range(1, upto + 1):
            have = {i: lg[idx] for i, lg in logs.items() if idx in lg}
            if len(have) < 2:
                continue
            compared += 1
            if len(set(have.values())) != 1:
                bad.append((idx, have))
        missing = {i: upto - sum(1 for x in lg if x <= upto) for i, lg in logs.items()}
        if bad:
            idx, have = bad[0]
            self.failures.append(f"logs disagree at {len(bad)} committed indexes; first {idx}: "
                                 f"{have}")
        how = (f"raftkv-dump --json of every data dir: {compared} committed indexes "
               f"(1..{upto}) compared entry by entry (term, type, command); "
               f"{len(bad)} mismatches; entries not in a member's log (compacted): {missing}")
        if any(snaps.values()) or self.a.snapshot_entries:
            how += "; " + self.check_snapshot_metadata(snaps, logs, upto, below)
        say(f"log check: {how}")
        return how

    def read_dump(self, dump: str, m) -> tuple[Optional[tuple[int, int]], dict, int]:
        """Runs raftkv-dump --json on member m's data dir (saved as
        dump-<id>.jsonl). Returns (its newest intact snapshot's (index,
        term) or None, its log {index: (term, type, command)} after
        truncations, how many of those entries the snapshot covers).

        Entries at or below the snapshot's index stay in the log as long as
        their segment holds later ones too (segments are deleted whole), and
        recovery keeps them when the log continues the snapshot (leaders
        still send them): they are compared like the others."""
        r = subprocess.run([dump, m.data_dir, "--json"], capture_output=True, text=True,
                           timeout=120)
        with open(os.path.join(self.run_dir, f"dump-{m.id}.jsonl"), "w") as f:
            f.write(r.stdout)
        if r.returncode != 0:
            self.failures.append(f"raftkv-dump of member {m.id} exit {r.returncode}: "
                                 f"{r.stderr.strip()[-300:]}")
        snap: Optional[tuple[int, int]] = None
        log = {}
        for line in r.stdout.splitlines():
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if d.get("type") == "snapshot" and d.get("present", True) \
                    and d.get("status", "ok") == "ok" and isinstance(d.get("index"), int):
                if snap is None or d["index"] > snap[0]:
                    snap = (d["index"], d.get("term"))
            elif d.get("type") == "truncate":
                kt = d["keep_through"]
                for idx in [x for x in log if x > kt]:
                    del log[idx]
            elif d.get("type") == "entry":
                log[d["index"]] = (d["term"], d.get("entry_type"),
                                   json.dumps(d.get("command"), sort_keys=True))
        covered = sum(1 for x in log if snap is not None and x <= snap[0])
        return snap, log, covered

    def check_snapshot_metadata(self, snaps: dict, logs: dict, upto: int, below: dict) -> str:
        """A snapshot stands for the committed log up to its index: its index
        is committed, its term is the term every member has at that index
        (in its log or in its own snapshot), and the member's own log
        continues it (docs/disk-format.md, "Snapshots in recovery"): it is
        empty, holds the snapshot's entry with the snapshot's term, or starts
        right after it."""
        bad = []
        for i, snap in snaps.items():
            if snap is None:
                continue
            index, term = snap
            if index > upto:
                bad.append(f"member {i}'s snapshot at {index} is past the commit index {upto}")
            for j in snaps:
                other = logs[j].get(index, (None,))[0]
                if j != i and snaps[j] is not None and snaps[j][0] == index:
                    other = snaps[j][1]
                if other is not None and other != term:
                    bad.append(f"member {i}'s snapshot ({index}, term {term}) vs member {j}'s "
                               f"term {other} at that index")
            if logs[i] and index not in logs[i] and min(logs[i]) != index + 1:
                bad.append(f"member {i}'s log ({min(logs[i])}..{max(logs[i])}) does not "
                           f"continue its snapshot at {index}")
        for b in bad:
            self.failures.append(f"snapshot metadata: {b}")
        shown = {i: (f"{s[0]}/term {s[1]}" if s else "none") for i, s in snaps.items()}
        return (f"snapshots (index/term) {shown} checked against every log: {len(bad)} "
                f"problems; entries at or below the snapshot still in the log: {below}")

    # ---- the run --------------------------------------------------------
    def run(self) -> int:
        a = self.a
        self.setup()
        end = now() + a.duration
        threads = [threading.Thread(target=self.client_loop, args=(cid, end), daemon=True,
                                    name=f"client-{cid}") for cid in range(a.clients)]
        t_start = now()
        for t in threads:
            t.start()
        say(f"{a.clients} clients started ({'stale' if a.stale_reads else 'linearizable'} "
            f"reads), {a.keys} keys at a time (renamed every {a.key_lifetime}s), "
            f"client timeout {a.client_timeout}s; nemesis for {a.duration}s")
        try:
            self.nemesis(end)
        finally:
            self.stop_clients.set()
            for t in threads:
                t.join(timeout=a.client_timeout + 10)
            alive = [t.name for t in threads if t.is_alive()]
            if alive:
                self.failures.append(f"clients did not stop: {alive}")
        say(f"workload done after {now() - t_start:.1f}s")
        self.heal_all()
        sts = self.wait_converged(a.converge_timeout)
        self.final_reads()
        self.history.close()
        self.sample_installs()
        if a.snapshot_entries and self.total_installs() == 0:
            self.failures.append("snapshot mode, but no member installed a snapshot from a "
                                 "leader (/metrics): InstallSnapshot was not exercised")
        log_how = self.check_logs(sts)

        two = self.cluster.two_leaders_in_a_term()
        if two:
            self.failures.append(f"two leaders in one term (from /status): {two}")
        if self.history.unexpected:
            u = self.history.unexpected
            self.failures.append(f"{len(u)} answers the contract does not allow; first: {u[0]}")

        say(f"checking linearizability of {len(self.history.ops)} operations "
            f"on {len(self.keys_used)} keys ...")
        t = time.monotonic()
        res = lin.check(self.history.ops, deadline=a.check_deadline, shrink_deadline=30)
        check_time = time.monotonic() - t
        say(f"checker: {res.status} in {check_time:.2f}s")
        if res.status == "fail":
            self.violation = res
            w = faithful_witness(self.history.ops, res.key)
            self.witness_text = (
                f"Key {res.key!r}: the shortest failing prefix of its history, with the reads "
                f"and no-effect results that are not needed dropped ({len(w)} ops; by itself "
                f"not linearizable, and this implies the whole history is not):\n"
                + describe_ops(w, self.history.member_of))
            with open(os.path.join(self.run_dir, "violation.txt"), "w") as f:
                f.write(self.witness_text + "\n\nThe checker's smaller (readability) witness:\n"
                        + res.report() + "\n")
        elif res.status == "unknown":
            self.failures.append(f"linearizability check gave no verdict: {res.message}")
        return self.summarize(res, check_time, log_how)

    def summarize(self, res: lin.Result, check_time: float, log_how: str) -> int:
        a = self.a
        cnt = self.history.counts
        by_status = collections.Counter()
        for (_k, s), n in cnt.items():
            by_status[s] += n
        by_kind = collections.defaultdict(dict)
        for (k, s), n in cnt.items():
            by_kind[k][s] = n
        ev = collections.Counter(e["kind"] for e in self.events if e["phase"] == "start")
        probes = [e for e in self.events if e["kind"] == "probe" and e["phase"] == "read"]
        summary = {
            "seed": a.seed, "nodes": a.nodes, "duration": a.duration, "mode": self.mode,
            "stale_reads": a.stale_reads, "ops": dict(by_status),
            "ops_by_kind": by_kind, "nemesis_events": dict(ev),
            "probes": len(probes), "probe_stale_reads": sum(1 for p in probes if p["stale_read"]),
            "checker": res.status, "checker_seconds": round(check_time, 2),
            "snapshot_entries": a.snapshot_entries,
            "snapshot_trailing": a.snapshot_trailing if a.snapshot_entries else None,
            "snapshots_installed": self.total_installs(),
            "membership": self.membership.changes if self.membership else None,
            "log_check": log_how, "failures": self.failures, "run_dir": self.run_dir,
        }
        with open(os.path.join(self.run_dir, "summary.json"), "w") as f:
            json.dump(summary, f, indent=1)
        print("=" * 72)
        print(f"SUMMARY seed={a.seed} nodes={a.nodes} duration={a.duration}s mode={self.mode}"
              f"{' stale-reads' if a.stale_reads else ''}")
        print(f"  operations: {sum(by_status.values())} total: ok {by_status['ok']}, "
              f"indeterminate {by_status['info']}, failed/no effect {by_status['fail']}")
        for k in lin.KINDS:
            if k in by_kind:
                print(f"    {k:7s} " + ", ".join(f"{s} {n}" for s, n in sorted(by_kind[k].items())))
        print("  nemesis events: " + (", ".join(f"{k} {n}" for k, n in sorted(ev.items()))
                                      or "none"))
        print(f"  isolated-leader probes: {len(probes)}, stale reads among them: "
              f"{summary['probe_stale_reads']}")
        print(f"  linearizability: {res.status} ({res.history_size} ops, {check_time:.2f}s)")
        if a.snapshot_entries:
            print(f"  snapshots: every {a.snapshot_entries} entries, {a.snapshot_trailing} "
                  f"trailing; installed from a leader: {self.total_installs()} (by member "
                  f"and start: {dict(sorted(self.installs.items()))})")
        if self.membership:
            ch = self.membership.changes
            print(f"  membership: {ch['added']} added, {ch['removed']} removed, "
                  f"{ch['refused']} refused, {ch['unknown']} with an unknown outcome; final "
                  f"members (ids) {self.membership.member_ids()}")
        print(f"  log check: {log_how}")
        for nt in self.notes:
            print(f"  note: {nt}")
        for fl in self.failures:
            print(f"  FAILED: {fl}")
        if self.violation:
            print(self.witness_text)
            print("  the checker's smaller witness (it also drops writes whose value nothing read;"
                  " see docs/fault-testing.md):")
            print("  " + self.violation.report().replace("\n", "\n  "))
        found = self.violation is not None
        if a.expect_violation:
            ok = found
            verdict = ("PASS: the expected violation was found" if found
                       else "FAIL: expected a linearizability violation, none found")
        else:
            ok = not found and not self.failures
            verdict = "PASS" if ok else "FAIL"
        print(f"  verdict: {verdict}")
        print(f"  history: {self.history.path}")
        print(f"  replay: {replay_command(a)}")
        print("=" * 72, flush=True)
        return 0 if ok else 1


def faithful_witness(ops: list[lin.Op], key, deadline_s: float = 30.0) -> list[lin.Op]:
    """A sub-history of `key` whose non-linearizability implies the whole
    history's: only relaxing steps of the checker's shrinker (cut at the
    earliest failing time, drop reads and no-effect results not needed, drop
    indeterminate ops invoked after the last completed one). The checker's
    own witness additionally drops effects whose value no kept op *read*;
    that can drop e.g. the delete a later successful create depended on, so
    its witness is readable but not always the cause."""
    deadline = time.monotonic() + deadline_s
    ops = lin._relevant([o for o in ops if o.key == key])

    def bad(h):
        return lin._check_key(h, None, deadline) is False
    if not bad(ops):
        return []
    times = sorted({o.complete for o in ops if o.complete != lin.INF})
    lo, hi = 0, len(times) - 1
    while lo < hi and time.monotonic() < deadline:
        mid = (lo + hi) // 2
        if bad(lin._prefix(ops, times[mid])):
            hi = mid
        else:
            lo = mid + 1
    cut = lin._relevant(lin._prefix(ops, times[hi])) if times else ops
    if bad(cut):
        ops = cut
    ops = lin._minimize(ops, lin._constraint_only, bad, deadline)
    last = max((o.complete for o in ops if o.complete != lin.INF), default=-lin.INF)
    ops = [o for o in ops if not (o.status == "info" and o.invoke > last)]
    return ops


def describe_ops(ops: list[lin.Op], member_of: dict, limit: int = 60) -> str:
    ops = sorted(ops, key=lambda o: o.invoke)
    lines = ["  (times in s since the runner started, as in the nemesis log; [invoke, complete])"]
    shown = ops if len(ops) <= limit else ops[:limit // 3] + ops[-(2 * limit // 3):]
    for j, o in enumerate(shown):
        if len(ops) > limit and j == limit // 3:
            lines.append(f"  ... {len(ops) - len(shown)} ops omitted ...")
        m = member_of.get((o.client, o.invoke))
        lines.append("  " + o.describe(0.0) + ("" if m is None else f" (member {m})"))
    return "\n".join(lines)


def replay_command(a: argparse.Namespace) -> str:
    parts = ["python3", "test/fault/run_fault.py", "--seed", str(a.seed), "--duration",
             str(a.duration), "--nodes", str(a.nodes), "--clients", str(a.clients)]
    if a.stale_reads:
        parts.append("--stale-reads")
    if a.expect_violation:
        parts.append("--expect-violation")
    if a.no_netns:
        parts.append("--no-netns")
    if a.nemesis:
        parts += ["--nemesis", ",".join(a.nemesis)]
    if a.membership:
        parts += ["--membership", "--spares", str(a.spares)]
    if a.snapshot_entries:
        parts += ["--snapshot-entries", str(a.snapshot_entries),
                  "--snapshot-trailing", str(a.snapshot_trailing)]
    return shlex.join(parts)


def daemon_flags(a: argparse.Namespace) -> list[str]:
    flags = list(DAEMON_FLAGS)
    if a.snapshot_entries:
        flags += ["--snapshot-entries", str(a.snapshot_entries),
                  "--snapshot-trailing", str(a.snapshot_trailing)]
    return flags


def snapshot_installs(metrics_text: str) -> float:
    """Snapshots a member installed from a leader, from its /metrics."""
    for line in metrics_text.splitlines():
        name, _, value = line.rpartition(" ")
        if name == "raftkv_snapshot_installs_total":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 0.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--raftkvd", help="daemon binary (default: $RAFTKVD, else newest build*/)")
    p.add_argument("--raftkv-dump", help="raftkv-dump binary (default: $RAFTKV_DUMP, else "
                                         "next to the daemon's build)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of workload (60)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    p.add_argument("--nodes", type=int, default=3, choices=(3, 5))
    p.add_argument("--clients", type=int, default=10)
    p.add_argument("--keys", type=int, default=5, help="keys in use at a time (5)")
    p.add_argument("--key-lifetime", type=float, default=20.0,
                   help="seconds before a key slot moves to a fresh key (20); bounds each "
                        "key's history so the check stays fast on long soaks")
    p.add_argument("--client-timeout", type=float, default=1.0)
    p.add_argument("--think-ms", type=float, default=5.0,
                   help="mean pause between a client's operations (5)")
    p.add_argument("--stale-reads", action="store_true", help="reads use ?stale=true")
    p.add_argument("--expect-violation", action="store_true",
                   help="exit 0 only if a linearizability violation is found")
    p.add_argument("--no-netns", action="store_true",
                   help="loopback cluster, process faults only")
    p.add_argument("--no-install", action="store_true",
                   help="do not apt-get install missing tools")
    p.add_argument("--nemesis", type=lambda s: [x for x in s.split(",") if x],
                   help=f"only these event kinds (comma list of {','.join(EVENT_KINDS)})")
    p.add_argument("--membership", action="store_true",
                   help="membership nemesis too: add members (--join, POST /members) and remove "
                        "them (DELETE /members/ID), leader included, between the other faults")
    p.add_argument("--spares", type=int, default=2,
                   help="with --membership: slots for members beyond --nodes (2)")
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--hold", type=float, nargs=2, default=(2.0, 5.0), metavar=("MIN", "MAX"),
                   help="seconds a fault lasts (2 5)")
    p.add_argument("--quiet", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"),
                   help="seconds between faults (1 3)")
    p.add_argument("--converge-timeout", type=float, default=30.0)
    p.add_argument("--check-deadline", type=float, default=300.0,
                   help="seconds the linearizability search may take (300)")
    p.add_argument("--keep", action="store_true", help="keep the run dir on success too")
    p.add_argument("--snapshot-entries", type=int, default=None, metavar="N",
                   help="snapshot mode: every raftkvd snapshots every N applied entries; the "
                        "run fails unless some member installs a snapshot from a leader")
    p.add_argument("--snapshot-trailing", type=int, default=DEFAULT_SNAPSHOT_TRAILING,
                   metavar="N", help="with --snapshot-entries: log entries kept behind a "
                                     f"snapshot ({DEFAULT_SNAPSHOT_TRAILING})")
    a = p.parse_args(argv)
    if a.seed is None:
        a.seed = int.from_bytes(os.urandom(4), "big")
    if a.snapshot_entries is not None and (a.snapshot_entries < 1 or a.snapshot_trailing < 0):
        p.error("--snapshot-entries must be positive and --snapshot-trailing not negative")
    if a.duration <= 0 or a.clients < 1 or a.keys < 1 or a.client_timeout <= 0:
        p.error("--duration, --clients, --keys and --client-timeout must be positive")
    if a.membership and a.spares < 1:
        p.error("--spares must be at least 1 with --membership")
    if a.nemesis:
        bad = [k for k in a.nemesis if k not in EVENT_KINDS]
        if bad:
            p.error(f"--nemesis: unknown kind(s) {bad}")
    return a


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    raftkvd, _ = harness.find_raftkvd(["--raftkvd", a.raftkvd] if a.raftkvd else [])
    if raftkvd is None or not os.access(raftkvd, os.X_OK):
        print(f"SKIP: raftkvd binary not found ({raftkvd!r}); set RAFTKVD or pass --raftkvd",
              file=sys.stderr)
        return 77
    raftkvd = os.path.abspath(raftkvd)
    print(f"run_fault: seed {a.seed}; replay with: {replay_command(a)}", flush=True)
    print(f"raftkvd: {raftkvd}", flush=True)
    runner = Runner(a, raftkvd)

    # Cleanup on every way out: finally, atexit, and these signals.
    harness._install_handlers()

    def on_signal(signum, _frame):
        say(f"signal {signum}: cleaning up")
        runner.cleanup()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    import atexit
    atexit.register(runner.cleanup)

    rc = 1
    try:
        rc = runner.run()
    except Exception:  # noqa: BLE001
        say(f"run aborted:\n{traceback.format_exc()}")
        if runner.cluster:
            print(runner.cluster.all_log_tails(30), flush=True)
        rc = 1
    finally:
        runner.cleanup()
    run_dir = getattr(runner, "run_dir", None)
    if run_dir:
        failed_checks = bool(runner.failures) or runner.violation is not None
        if rc == 0 and not a.keep and not failed_checks:
            shutil.rmtree(run_dir, ignore_errors=True)
            print(f"run dir removed (pass --keep to keep it)")
        elif rc == 0 and not a.keep and a.expect_violation and not runner.failures:
            shutil.rmtree(run_dir, ignore_errors=True)
            print(f"run dir removed (the expected violation is printed above)")
        else:
            print(f"run dir kept: {run_dir} (history.jsonl, nemesis.jsonl, raftkvd-*.log, "
                  f"data-*/, dump-*.jsonl, summary.json)")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
