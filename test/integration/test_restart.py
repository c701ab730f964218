#!/usr/bin/env python3
"""Stop (SIGTERM) or kill -9 every member and restart: every acknowledged
write is still there."""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class Restart(harness.ClusterTestCase):
    def write_workload(self, c, n=120, seed=1):
        """Acknowledged puts, overwrites, deletes and CAS through all
        members; returns the expected final state {key: value or None}."""
        rng = random.Random(seed)
        model = {}
        for k in range(n):
            i = k % c.n
            key = f"key-{rng.randrange(n // 2)}"
            op = rng.choice(["put", "put", "put", "delete", "cas"])
            if op == "put" or (op != "put" and key not in model):
                v = f"v{k}-" + "x" * rng.randrange(200)
                r = c.put(i, key, v.encode())
                self.assertEqual(r.status, 200, r)
                model[key] = v
            elif op == "delete":
                r = c.delete(i, key)
                self.assertEqual(r.status, 200 if model[key] is not None else 404, r)
                model[key] = None
            else:
                v = f"cas{k}"
                if model[key] is None:
                    r = c.put(i, key, v.encode(), prev_exists="false")
                else:
                    r = c.put(i, key, v.encode(), prev=model[key])
                self.assertEqual(r.status, 200, r)
                model[key] = v
        return model

    def check_model(self, c, model, members=None):
        for i in (members if members is not None else range(c.n)):
            for key, v in model.items():
                r = c.get(i, key)
                if v is None:
                    self.assertEqual(r.status, 404, f"deleted {key} is back on member {i}: {r}")
                else:
                    self.assertEqual((r.status, r.body), (200, v.encode()),
                                     f"{key} on member {i} after restart")

    def restart_and_check(self, stop):
        c = self.cluster(3)
        c.wait_for_leader(timeout=10)
        model = self.write_workload(c)
        terms = [c.must_status(i)["term"] for i in range(3)]
        commit = max(c.must_status(i)["commit_index"] for i in range(3))
        for i in range(3):
            stop(c, i)
        for i in range(3):
            c.start_member(i)
        c.wait_serving(timeout=10)
        lead = c.wait_for_leader(timeout=10)
        st = c.must_status(lead)
        self.assertGreaterEqual(st["term"], max(terms), "term went backwards across a restart")
        self.assertGreaterEqual(st["last_log_index"], commit, "log shorter than before")
        self.check_model(c, model)
        # And the restarted cluster takes new writes.
        self.assertEqual(c.put((lead + 1) % 3, "after-restart", b"yes").status, 200)
        self.check_model(c, {"after-restart": "yes"})
        return c, model

    def test_sigterm_all_and_restart(self):
        self.restart_and_check(lambda c, i: c.stop(i, timeout=10, expect=0))

    def test_kill9_all_and_restart(self):
        self.restart_and_check(lambda c, i: c.kill9(i))

    def test_restart_twice_and_single_member(self):
        c = self.cluster(1)
        c.wait_for_leader(timeout=10)
        model = self.write_workload(c, n=40, seed=2)
        for _ in range(2):
            c.stop(0)
            c.start_member(0)
            c.wait_for_leader(timeout=10)
            self.check_model(c, model)
            model.update(self.write_workload(c, n=10, seed=3))
        self.check_model(c, model)


if __name__ == "__main__":
    harness.main()
