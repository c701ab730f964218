#!/usr/bin/env python3
"""POST /leader?to=ID: leadership moves to each member in turn and back,
every member agrees on the new leader, writes work at once at the new
leader; 400 for garbage, 409 for an unknown id, 503 naming the leader from a
follower. Prints the median transfer time (request sent to 200)."""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# With --election-timeout 300: a transfer completes within one election
# timeout or fails with 503; the request itself is bounded by this.
REQUEST_TIMEOUT = 5.0
REQUEST_TIMEOUT_MS = 2000  # the daemons' --request-timeout
AGREE_BOUND = 5.0  # s for every member's /status to name the new leader


class Transfer(harness.SharedClusterTestCase):
    @classmethod
    def setUpClass(cls):
        # A short request timeout keeps the 504 case quick.
        cls.c = cls.class_cluster(3, extra_args=["--request-timeout", str(REQUEST_TIMEOUT_MS)])
        cls.c.wait_for_leader(timeout=10)

    def transfer(self, via: int, target, timeout: float = REQUEST_TIMEOUT) -> harness.Response:
        return self.c.request(via, "POST", f"/leader?to={target}", timeout=timeout)

    def wait_all_agree(self, leader: int, term: int) -> None:
        def agreed():
            sts = [self.c.status(i) for i in range(3)]
            return all(st is not None and st["leader"] == leader and st["term"] >= term
                       for st in sts)
        harness.wait_until(agreed, AGREE_BOUND, f"every member to name {leader} as leader")

    def test_transfer_to_each_member_in_turn(self):
        first = self.lead
        others = self.fol
        # Each member in turn, back to the first, and round again: 5 transfers.
        targets = [others[0], others[1], first, others[0], first]
        leader = first
        term = self.c.must_status(first)["term"]
        times_ms = []
        for n, target in enumerate(targets):
            r = self.transfer(leader, target)
            self.assertEqual(r.status, 200, f"transfer {n} from {leader} to {target}: {r}")
            times_ms.append(r.elapsed * 1000)
            body = r.json()
            self.assertEqual(body["leader"], target, body)
            self.assertGreater(body["term"], term, f"a transfer starts a new term: {body}")
            term = body["term"]
            self.wait_all_agree(target, term)
            self.assertEqual(self.c.must_status(target)["role"], "leader")
            leader = target
            w = self.c.put(leader, f"after-transfer-{n}", b"v")
            self.assertEqual(w.status, 200, f"write at the new leader {leader}: {w}")
        self.assertEqual(self.c.two_leaders_in_a_term(), {})
        print(f"transfer ms: median {statistics.median(times_ms):.1f}, "
              f"all {[round(t, 1) for t in times_ms]}")

    def test_transfer_to_the_leader_itself_is_immediate(self):
        term = self.c.must_status(self.lead)["term"]
        r = self.transfer(self.lead, self.lead)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"leader": self.lead, "term": term})

    def test_unknown_target_is_409(self):
        for target in (99, 3):
            r = self.transfer(self.lead, target)
            self.assertEqual(r.status, 409, f"to={target}: {r}")
            self.assertIn("error", r.json())
        self.assertEqual(self.c.leader_id(), self.lead, "a refused transfer changes nothing")

    def test_malformed_requests_are_400(self):
        for query in ("", "?to=", "?to=abc", "?to=-1", "?to=1.5", "?to=0x1", "?to=%201",
                      "?to=99999999999999999999999", "?to=1&to=2", "?id=1", "?to=1&x=2"):
            r = self.c.request(self.lead, "POST", "/leader" + query)
            self.assertEqual(r.status, 400, f"POST /leader{query}: {r}")
            self.assertIn("error", r.json())
        r = self.c.request(self.lead, "GET", "/leader?to=1")
        self.assertEqual(r.status, 405, r)

    def test_follower_names_the_leader(self):
        # etcd's move-leader must be sent to the leader; so must ours. A
        # follower answers 503 (nothing was done) naming the leader...
        follower, other = self.fol
        r = self.transfer(follower, other)
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.json().get("leader"), self.lead, r)
        # ...except when the target already leads: that is already done.
        term = self.c.must_status(self.lead)["term"]
        r = self.transfer(follower, self.lead)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"leader": self.lead, "term": term})
        self.assertEqual(self.c.leader_id(), self.lead)

    def wait_caught_up(self, member: int) -> None:
        def caught_up():
            lead, st = self.c.must_status(self.lead), self.c.status(member)
            return st is not None and st["last_log_index"] == lead["last_log_index"]
        harness.wait_until(caught_up, AGREE_BOUND, f"member {member} to catch up")

    def assert_leader_stays(self, leader: int, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.assertEqual(self.c.leader_id(), leader, "leadership moved")
            time.sleep(0.05)

    def test_target_behind_is_503_and_nothing_changes(self):
        # The target is paused and misses writes: the leader cannot catch it
        # up, so it never sends TimeoutNow and abandons the transfer after an
        # election timeout (300 ms). 503: nothing changed, nothing will.
        target = self.fol[0]
        self.c.pause(target)
        try:
            for k in range(3):
                self.assertEqual(self.c.put(self.lead, f"behind-{k}", b"v").status, 200)
            r = self.transfer(self.lead, target)
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.json().get("leader"), self.lead, r)
            self.assertLess(r.elapsed, 2.0, "answered at the abandon point, not the deadline")
        finally:
            self.c.resume(target)
        self.wait_caught_up(target)
        self.assert_leader_stays(self.lead, 1.0)  # three election timeouts
        self.assertEqual(self.c.put(self.lead, "behind-after", b"v").status, 200)

    def test_target_told_to_campaign_but_paused_is_504(self):
        # The target is up to date, so TimeoutNow goes out at once, but the
        # target is paused: the outcome is unknown until the deadline (504),
        # and indeed the target takes over as soon as it resumes.
        target = self.fol[0]
        self.wait_caught_up(target)
        self.c.pause(target)
        try:
            r = self.transfer(self.lead, target)
            self.assertEqual(r.status, 504, r)
            self.assertGreaterEqual(r.elapsed, REQUEST_TIMEOUT_MS / 1000 - 0.1, r)
        finally:
            self.c.resume(target)
        self.assertEqual(self.c.wait_for_leader(timeout=AGREE_BOUND, exclude=self.lead), target)


if __name__ == "__main__":
    harness.main()
