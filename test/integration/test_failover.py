#!/usr/bin/env python3
"""kill -9 / SIGSTOP of the leader: a new leader within a bound, writes
continue, the old member catches up; a concurrent history stays
linearizable across the failover."""

import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import linearizability as lin  # noqa: E402
from harness import kv_path  # noqa: E402

FAILOVER_BOUND = 5.0  # s from kill to the next acknowledged write (election timeout 300 ms)


class Failover(harness.ClusterTestCase):
    def test_kill9_leader(self):
        c = self.cluster(3)
        old = c.wait_for_leader(timeout=10)
        old_term = c.must_status(old)["term"]
        for k in range(20):
            self.assertEqual(c.put(k % 3, f"before-{k}", f"b{k}".encode()).status, 200)

        c.kill9(old)
        t_kill = time.monotonic()
        survivors = c.live_ids()
        # Failover time: kill to the next acknowledged write, writing through
        # the survivors in turn with a short client timeout (a timed-out
        # PUT of the same value may still apply later: harmless).
        outcomes = []
        via = None
        deadline = t_kill + FAILOVER_BOUND + 5
        while time.monotonic() < deadline:
            i = survivors[len(outcomes) % 2]
            t = time.monotonic() - t_kill
            try:
                r = c.request(i, "PUT", kv_path("after-0"), b"a0", timeout=0.25)
                outcomes.append((t, i, r.status))
                if r.status == 200:
                    via = i
                    break
            except OSError as e:
                outcomes.append((t, i, type(e).__name__))
            time.sleep(0.01)
        failover = time.monotonic() - t_kill
        self.assertIsNotNone(via, f"no write succeeded after the kill: {outcomes[-10:]}")
        new = c.wait_for_leader(timeout=5, ids=survivors)
        t_leader = time.monotonic() - t_kill
        summary = {}
        for _t, _i, o in outcomes:
            summary[o] = summary.get(o, 0) + 1
        print(f"FAILOVER: kill -9 of leader {old} -> first acknowledged write after "
              f"{failover * 1000:.0f} ms (through member {via}); new leader {new} agreed by "
              f"{t_leader * 1000:.0f} ms; answers meanwhile: {summary}")
        self.assertLess(failover, FAILOVER_BOUND, "failover took too long")
        self.assertNotEqual(new, old)
        self.assertGreater(c.must_status(new)["term"], old_term)

        for k in range(1, 20):
            r = c.put(survivors[k % 2], f"after-{k}", f"a{k}".encode())
            self.assertEqual(r.status, 200, f"write {k} after failover: {r}")
        for i in survivors:
            for k in range(20):
                self.assertEqual(c.get(i, f"before-{k}").body, f"b{k}".encode())
                self.assertEqual(c.get(i, f"after-{k}").body, f"a{k}".encode())

        # The killed member restarts and catches up.
        c.restart(old)
        t_restart = time.monotonic()
        for k in range(20):
            harness.wait_until(
                lambda k=k: c.get(old, f"after-{k}", stale="true").body == f"a{k}".encode(), 10,
                f"restarted member {old} to catch up on after-{k}")
        print(f"restarted member {old} caught up in {time.monotonic() - t_restart:.2f}s")
        lead = c.wait_for_leader(timeout=10)
        self.assertEqual(c.must_status(old)["role"], "follower" if lead != old else "leader")
        # A linearizable read through the restarted member.
        self.assertEqual(c.put(lead, "final", b"f").status, 200)
        r = c.get(old, "final")
        self.assertEqual((r.status, r.body), (200, b"f"))
        self.assertEqual(c.two_leaders_in_a_term(), {})

    def test_kill9_follower_does_not_disturb(self):
        c = self.cluster(3)
        lead = c.wait_for_leader(timeout=10)
        term = c.must_status(lead)["term"]
        f = c.followers(lead)[0]
        c.kill9(f)
        for k in range(10):
            r = c.put(lead, f"k{k}", b"v", timeout=3)
            self.assertEqual(r.status, 200, f"write with one follower down: {r}")
        self.assertEqual(c.must_status(lead)["term"], term, "a follower crash changed the term")
        c.restart(f)
        harness.wait_until(lambda: c.get(f, "k9", stale="true").status == 200, 10,
                           f"member {f} to catch up")

    def test_pause_leader(self):
        c = self.cluster(3)
        old = c.wait_for_leader(timeout=10)
        self.assertEqual(c.put(old, "p", b"0").status, 200)
        c.pause(old)
        t0 = time.monotonic()
        others = c.live_ids()
        new = c.wait_for_leader(timeout=FAILOVER_BOUND, ids=others)
        print(f"paused leader {old}: new leader {new} after {time.monotonic() - t0:.2f}s")
        self.assertNotEqual(new, old)
        via, _ = c.put_retry("p", b"1", timeout=5, ids=others, req_timeout=1.0)
        c.resume(old)
        # The old leader learns the new term and steps down; reads through it
        # are linearizable, never the pre-pause value.
        r = c.get(old, "p", timeout=6)
        self.assertIn(r.status, (200, 503, 504), r)
        if r.status == 200:
            self.assertEqual(r.body, b"1", "stale read from a resumed old leader")
        lead = c.wait_for_leader(timeout=10)
        self.assertEqual(c.must_status(old)["role"], "follower" if lead != old else "leader")
        harness.wait_until(lambda: c.get(old, "p", stale="true").body == b"1", 5,
                           "the resumed member to apply the new write")
        self.assertEqual(c.two_leaders_in_a_term(), {})

    def test_linearizable_across_leader_kill(self):
        c = self.cluster(3)
        c.wait_for_leader(timeout=10)
        history = []
        hlock = threading.Lock()
        stop = threading.Event()
        keys = ["x", "y"]
        counter = [0]
        errors = []

        def client(cid):
            rng = random.Random(cid)
            last = {}
            while not stop.is_set():
                key = rng.choice(keys)
                member = rng.randrange(3)
                kind = rng.choice(["write", "write", "read", "read", "cas"])
                with hlock:
                    counter[0] += 1
                    val = f"c{cid}-{counter[0]}"
                old = last.get(key, "none")
                if kind == "write":
                    path, method, body = kv_path(key), "PUT", val.encode()
                elif kind == "read":
                    path, method, body = kv_path(key), "GET", None
                else:
                    path, method, body = kv_path(key, prev=old), "PUT", val.encode()
                t0 = time.monotonic()
                try:
                    r = c.request(member, method, path, body, timeout=2.0)
                    code, rbody = r.status, r.body
                except ConnectionRefusedError:
                    code, rbody = 503, b""  # never sent: no effect
                except OSError:
                    code, rbody = None, b""
                t1 = time.monotonic()
                if code not in (None, 200, 404, 412, 503, 504):
                    errors.append(f"{method} {path} on {member}: unexpected {code} {rbody[:100]!r}")
                    continue
                res = rbody.decode(errors="replace") if kind == "read" and code == 200 else None
                op = lin.op_from_http(kind, key, t0, t1, code, res,
                                      value=val if kind != "read" else None,
                                      old=old if kind == "cas" else None,
                                      client=f"{cid} via member {member}")
                if kind == "read" and code == 200:
                    last[key] = res
                with hlock:
                    history.append(op)

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(4)]
        for t in threads:
            t.start()
        try:
            time.sleep(1.5)  # load runs; the fault schedule is time-based by design
            lead = c.wait_for_leader(timeout=5)
            c.kill9(lead)
            time.sleep(2.0)
            c.restart(lead)
            time.sleep(1.5)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=10)
        self.assertFalse(any(t.is_alive() for t in threads), "a client thread hung")
        self.assertEqual(errors, [])
        ok = sum(1 for op in history if op.status == "ok")
        print(f"history: {len(history)} ops, {ok} ok, "
              f"{sum(1 for op in history if op.status == 'info')} indeterminate, "
              f"{sum(1 for op in history if op.status == 'fail')} failed")
        self.assertGreater(ok, 50, "too few successful operations to say anything")
        r = lin.check(history, deadline=60)
        print(r.report())
        self.assertNotEqual(r.status, "fail", r.report())


if __name__ == "__main__":
    harness.main()
