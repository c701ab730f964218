#!/usr/bin/env python3
"""A leader is elected within a bound; /status is present and consistent."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ELECTION_BOUND = 5.0  # s, with --election-timeout 300


class Election(harness.ClusterTestCase):
    def check_status_fields(self, st: dict, i: int, n: int) -> None:
        for f in ("id", "role", "term", "leader", "commit_index", "applied_index",
                  "last_log_index", "members"):
            self.assertIn(f, st, f"/status of member {i} lacks {f!r}: {st}")
        self.assertEqual(st["id"], i)
        self.assertIn(st["role"], ("leader", "follower", "candidate", "pre-candidate"))
        self.assertIsInstance(st["term"], int)
        self.assertGreaterEqual(st["term"], 1)
        self.assertTrue(st["leader"] is None or isinstance(st["leader"], int), st)
        for f in ("commit_index", "applied_index", "last_log_index"):
            self.assertIsInstance(st[f], int, f)
            self.assertGreaterEqual(st[f], 0, f)
        self.assertLessEqual(st["applied_index"], st["commit_index"], st)
        self.assertLessEqual(st["commit_index"], st["last_log_index"], st)
        self.assertEqual(len(st["members"]), n, st)

    def test_three_members_elect_one_leader(self):
        t0 = time.monotonic()
        c = self.cluster(3)
        lead = c.wait_for_leader(timeout=ELECTION_BOUND)
        elapsed = time.monotonic() - t0
        print(f"leader {lead} elected {elapsed:.2f}s after start (incl. process start)")
        sts = [c.must_status(i) for i in range(3)]
        for i, st in enumerate(sts):
            self.assertIsNotNone(st, f"member {i} does not answer /status")
            self.check_status_fields(st, i, 3)
        leaders = [st["id"] for st in sts if st["role"] == "leader"]
        self.assertEqual(leaders, [lead])
        self.assertEqual(len({st["term"] for st in sts}), 1, sts)
        self.assertTrue(all(st["leader"] == lead for st in sts), sts)

        # A healthy cluster keeps its leader: no new term for 1.5 s (five
        # election timeouts), observed by polling all members.
        term = sts[lead]["term"]
        end = time.monotonic() + 1.5
        polls = 0
        while time.monotonic() < end:
            polls += 1
            for i in range(3):
                st = c.status(i)
                self.assertIsNotNone(st, f"member {i} stopped answering")
                self.assertEqual((st["term"], st["leader"]), (term, lead),
                                 f"leadership changed in a healthy cluster: member {i}: {st}")
            time.sleep(0.05)
        self.assertGreater(polls, 3)
        self.assertEqual(c.two_leaders_in_a_term(), {})

    def test_commit_and_apply_advance_everywhere(self):
        c = self.cluster(3)
        lead = c.wait_for_leader(timeout=ELECTION_BOUND)
        before = c.must_status(lead)["commit_index"]
        for k in range(5):
            r = c.put(lead, f"k{k}", b"v")
            self.assertEqual(r.status, 200, r)
        after = c.must_status(lead)
        self.assertGreaterEqual(after["commit_index"], before + 5, after)
        target = after["commit_index"]

        def all_applied():
            sts = [c.status(i) for i in range(3)]
            return all(st and st["applied_index"] >= target and st["commit_index"] >= target
                       and st["last_log_index"] >= target for st in sts)
        harness.wait_until(all_applied, 5, f"every member to apply index {target}")

    def test_single_member_cluster_leads_itself(self):
        c = self.cluster(1)
        lead = c.wait_for_leader(timeout=ELECTION_BOUND)
        self.assertEqual(lead, 0)
        st = c.must_status(0)
        self.check_status_fields(st, 0, 1)
        r = c.put(0, "solo", b"1")
        self.assertEqual(r.status, 200, r)
        r = c.get(0, "solo")
        self.assertEqual((r.status, r.body), (200, b"1"))

    def test_five_members(self):
        c = self.cluster(5)
        lead = c.wait_for_leader(timeout=ELECTION_BOUND)
        sts = [c.must_status(i) for i in range(5)]
        self.assertEqual([s["role"] for s in sts].count("leader"), 1, sts)
        for i, st in enumerate(sts):
            self.check_status_fields(st, i, 5)
        r = c.put((lead + 1) % 5, "five", b"5")
        self.assertEqual(r.status, 200, r)


if __name__ == "__main__":
    harness.main()
