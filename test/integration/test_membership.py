#!/usr/bin/env python3
"""Membership changes on real daemons (docs/http-api.md "Membership"):

  * grow 3 -> 5 (two `--join` members, POST /members for each, both end up
    voters) and shrink back to 3 (DELETE a follower, then the leader itself)
    while a client writes continuously: only 200, 503 and 504 answers, and
    every write answered 200 is readable at the end. Prints the answers per
    second around each change (the write availability);
  * replace a killed member by a new one on a fresh data dir (DELETE the dead
    one, POST the new one): it catches up, through a snapshot when the log
    was compacted (--snapshot-entries small), and holds every key;
  * a removed member learns it, answers clients 503, and its restart does
    not disturb the others (same leader and term for several election
    timeouts);
  * 409 (id in use, address in use, last voter, a change pending), 404
    (unknown id), 400 (malformed), 405, and 503 from a follower naming the
    leader.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from membership_cluster import MembershipCluster  # noqa: E402

ELECTION_MS = 300  # harness.FAST_FLAGS
REQUEST_TIMEOUT_MS = 2000
CHANGE_BOUND = 20.0  # s for a change (and a learner's promotion) to show everywhere


class Writer(threading.Thread):
    """One client writing distinct keys as fast as answers come, through the
    members in `targets` (moving on after an error), recording (time,
    status) of every answer and the value of every write answered 200."""

    def __init__(self, c: harness.Cluster, targets: list[int]):
        super().__init__(daemon=True)
        self.c = c
        self.targets = list(targets)
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        self.answers: list[tuple[float, int, float]] = []  # (done at, status or -1, latency)
        self.acked: dict[str, str] = {}
        self.errors: list[str] = []
        self.t0 = time.monotonic()

    def set_targets(self, targets: list[int]) -> None:
        with self.lock:
            self.targets = list(targets)

    def run(self) -> None:
        n = 0
        k = 0
        while not self.stop_flag.is_set():
            with self.lock:
                target = self.targets[k % len(self.targets)]
            key, value = f"w{n:06d}", f"v{n}"
            t_start = time.monotonic()
            try:
                r = self.c.put(target, key, value.encode(), timeout=REQUEST_TIMEOUT_MS / 1000 + 3)
                status = r.status
            except OSError as e:
                status = -1
                self.errors.append(f"member {target}: {e!r}")
            t_done = time.monotonic()
            with self.lock:
                self.answers.append((t_done, status, t_done - t_start))
            if status == 200:
                self.acked[key] = value
            else:
                k += 1  # another member next time, like a client with a member list
                time.sleep(0.01)
            n += 1

    def finish(self) -> None:
        self.stop_flag.set()
        self.join(timeout=15)
        assert not self.is_alive(), "the writer did not stop"

    def per_second(self) -> list[tuple[int, dict, float]]:
        """(second, {status: count}, slowest answer in ms) by completion time."""
        buckets: dict[int, dict] = {}
        slowest: dict[int, float] = {}
        for t, status, latency in self.answers:
            second = int(t - self.t0)
            b = buckets.setdefault(second, {})
            b[status] = b.get(status, 0) + 1
            slowest[second] = max(slowest.get(second, 0.0), latency * 1000)
        return [(s, buckets[s], slowest[s]) for s in sorted(buckets)]


def current_leader(c: MembershipCluster, ids: list[int]) -> int:
    """The member of ids that leads in the highest term any of them reports
    (the others may lag a moment behind, or one may be leaving)."""
    def find():
        best = None
        for i in ids:
            st = c.status(i)
            if st is not None and st["role"] == "leader" and (best is None or st["term"] > best[0]):
                best = (st["term"], i)
        return best
    return harness.wait_until(find, 10, f"a leader among {ids}", interval=0.03)[1]


def wait_members(c: MembershipCluster, ids: list[int], expected: dict, what: str) -> None:
    """Waits until GET /members on every member in ids shows `expected`
    ({id: "voter"|"learner"})."""
    def agreed():
        for i in ids:
            got = {m: v["role"] for m, v in c.members_of(i).items()}
            if got != expected:
                return False
        return True
    harness.wait_until(agreed, CHANGE_BOUND, what, interval=0.1)


class Membership(harness.ClusterTestCase):
    def membership_cluster(self, initial: int, spares: int, **kw) -> MembershipCluster:
        """A started MembershipCluster, cleaned up (logs shown on failure)
        like the harness's own clusters."""
        c = MembershipCluster(initial, spares, start=False, **kw)
        self.__dict__.setdefault("_clusters", []).append(c)
        self.addCleanup(c.cleanup)
        c.start()
        return c

    def admin(self, c, via, method, path, timeout=REQUEST_TIMEOUT_MS / 1000 + 3):
        return c.request(via, method, path, timeout=timeout)

    def change(self, c, method, path, what):
        """Sends the change to the leader until it answers 200: a 409 "pending"
        (a learner's promotion is still committing) or a 503/504 around a
        leader change is retried, bounded."""
        def attempt():
            leader = current_leader(c, self.voting)
            r = self.admin(c, leader, method, path)
            if r.status == 200:
                return r
            self.assertIn(r.status, (409, 503, 504), f"{what}: {r}")
            if r.status == 409:
                self.assertTrue(r.json().get("retry"), f"{what}: a 409 to retry: {r}")
            return None
        return harness.wait_until(attempt, CHANGE_BOUND, what, interval=0.1)

    def marks_report(self, writer: Writer, marks: list[tuple[float, str]]) -> None:
        print("\nwrite answers per second (200 / 503 / 504 / other, slowest answer), "
              "changes marked:")
        mark_at = {}
        for t, label in marks:
            mark_at.setdefault(int(t - writer.t0), []).append(label)
        for second, counts, slowest_ms in writer.per_second():
            ok = counts.get(200, 0)
            other = sum(v for s, v in counts.items() if s not in (200, 503, 504))
            line = (f"  t={second:3d}s  {ok:4d} / {counts.get(503, 0):3d} / "
                    f"{counts.get(504, 0):3d} / {other}   {slowest_ms:6.0f} ms")
            if second in mark_at:
                line += "   <- " + ", ".join(mark_at[second])
            print(line)

    def test_grow_to_five_and_shrink_to_three_under_writes(self):
        c = self.membership_cluster(3, 2, name="grow-shrink",
                                    extra_args=["--request-timeout", str(REQUEST_TIMEOUT_MS)])
        self.voting = [0, 1, 2]
        c.wait_for_leader(timeout=10, ids=self.voting)
        writer = Writer(c, [0, 1, 2])
        marks = []
        writer.start()
        time.sleep(1.0)

        # Grow: each joiner waits (503 to clients) until it is added, then
        # catches up as a learner and is promoted by the leader.
        for new in (3, 4):
            c.join(new)
            r = c.request(new, "PUT", harness.kv_path("early"), b"x")
            self.assertEqual(r.status, 503, f"a joining member serves no client: {r}")
            self.assertIn("joining", r.json()["error"])
            marks.append((time.monotonic(), f"POST /members id={new}"))
            r = self.change(c, "POST", c.add_path(new), f"add {new}")
            body = r.json()
            self.assertIn(new, [m["id"] for m in body["members"]], body)
            marks.append((time.monotonic(), f"{new} added"))
            self.voting.append(new)
            expected = {i: "voter" for i in self.voting}
            wait_members(c, self.voting, expected, f"{new} promoted to voter everywhere")
            marks.append((time.monotonic(), f"{new} voter"))
            writer.set_targets(self.voting)
        time.sleep(1.0)

        # Shrink: a follower first, then the leader itself.
        leader = c.wait_for_leader(timeout=10, ids=self.voting)
        follower = next(i for i in (0, 1, 2) if i != leader)
        for gone in (follower, leader):
            stay = [i for i in self.voting if i != gone]
            writer.set_targets(stay)  # clients stop using a member before it goes
            marks.append((time.monotonic(), f"DELETE /members/{gone}"))
            r = self.change(c, "DELETE", f"/members/{gone}", f"remove {gone}")
            self.assertNotIn(gone, [m["id"] for m in r.json()["members"]])
            marks.append((time.monotonic(), f"{gone} removed"))
            self.voting = stay
            wait_members(c, stay, {i: "voter" for i in stay}, f"{gone} gone everywhere")
        new_leader = c.wait_for_leader(timeout=10, ids=self.voting)
        self.assertNotEqual(new_leader, leader, "the removed leader stepped down")
        marks.append((time.monotonic(), f"leader {new_leader}"))
        time.sleep(2.0)
        writer.finish()
        self.marks_report(writer, marks)

        statuses = {s for _, s, _ in writer.answers}
        self.assertTrue(statuses <= {200, 503, 504},
                        f"answers seen: {statuses}; {writer.errors[:5]}")
        self.assertGreater(len(writer.acked), 100, "the writer made progress")
        # Every write answered 200 is there: one linearizable read makes the
        # member at least as fresh as every acknowledged write, then its
        # local state is read.
        reader = self.voting[0]
        last = max(writer.acked)
        self.assertEqual(c.get(reader, last).status, 200)
        for key, value in writer.acked.items():
            r = c.get(reader, key, stale="true")
            self.assertEqual((r.status, r.body), (200, value.encode()), f"acked {key}: {r}")
        # The removed members know it.
        for gone in (follower, leader):
            st = c.must_status(gone)
            self.assertEqual(st["standing"], "removed", st)
        self.assertEqual(c.two_leaders_in_a_term(), {})

    def test_replace_a_killed_member_through_a_snapshot(self):
        c = self.membership_cluster(
            3, 1, name="replace",
            extra_args=["--request-timeout", str(REQUEST_TIMEOUT_MS), "--snapshot-entries", "50",
                        "--snapshot-trailing", "10"])
        self.voting = [0, 1, 2]
        leader = c.wait_for_leader(timeout=10, ids=self.voting)
        dead = next(i for i in self.voting if i != leader)
        for n in range(150):
            r = c.put(leader, f"k{n}", f"v{n}".encode())
            self.assertEqual(r.status, 200, r)
        c.kill9(dead)
        self.voting.remove(dead)
        # More writes after the kill: the dead member misses them.
        for n in range(150, 300):
            _, r = c.put_retry(f"k{n}", f"v{n}".encode(), ids=self.voting)
        self.change(c, "DELETE", f"/members/{dead}", f"remove dead member {dead}")
        wait_members(c, self.voting, {i: "voter" for i in self.voting}, f"{dead} gone")
        c.join(3)
        self.change(c, "POST", c.add_path(3), "add the replacement")
        self.voting.append(3)
        wait_members(c, self.voting, {i: "voter" for i in self.voting}, "replacement voter")
        leader = c.wait_for_leader(timeout=10, ids=self.voting)
        last = c.must_status(leader)["commit_index"]
        harness.wait_until(lambda: c.must_status(3)["applied_index"] >= last, CHANGE_BOUND,
                           "the replacement to apply everything")
        for n in range(300):
            r = c.get(3, f"k{n}", stale="true")
            self.assertEqual((r.status, r.body), (200, f"v{n}".encode()), f"k{n} on 3: {r}")
        # The leader compacted its log long before: a snapshot came first.
        metrics = c.request(3, "GET", "/metrics").text()
        installs = [line for line in metrics.splitlines()
                    if line.startswith("raftkv_snapshot_installs_total")]
        self.assertEqual(len(installs), 1, "raftkv_snapshot_installs_total in /metrics")
        self.assertGreaterEqual(float(installs[0].split()[-1]), 1,
                                "the replacement caught up from a snapshot")
        # A restart with the same command line (--join still there) is a
        # member's restart: the data dir shows it was added.
        c.stop(3)
        c.start_member(3)
        c.wait_serving([3])
        harness.wait_until(lambda: c.must_status(3)["standing"] == "member", 5,
                           "the restarted replacement to be a member")
        self.assertIn("--join ignored", c.log_text(3))
        # The cluster of three (two old, one new) survives losing one more.
        victim = next(i for i in self.voting if i != 3)
        c.kill9(victim)
        self.voting.remove(victim)
        c.put_retry("after-replace", b"ok", ids=self.voting, timeout=15)

    def test_a_removed_member_restarting_does_not_disturb_the_cluster(self):
        c = self.membership_cluster(3, 0, name="removed-restart")
        self.voting = [0, 1, 2]
        leader = c.wait_for_leader(timeout=10, ids=self.voting)
        gone = next(i for i in self.voting if i != leader)
        self.change(c, "DELETE", f"/members/{gone}", f"remove {gone}")
        self.voting.remove(gone)
        harness.wait_until(lambda: c.must_status(gone)["standing"] == "removed", CHANGE_BOUND,
                           f"{gone} to see its removal")
        r = c.put(gone, "k", b"v")
        self.assertEqual(r.status, 503, r)
        self.assertIn("removed", r.json()["error"])
        r = c.get(gone, "k", stale="true")
        self.assertEqual(r.status, 503, r)
        c.stop(gone)
        c.start_member(gone)
        c.wait_serving([gone])
        before = {i: c.must_status(i) for i in self.voting}
        lead_term = {(st["leader"], st["term"]) for st in before.values()}
        self.assertEqual(len(lead_term), 1, before)
        # Several election timeouts: no election, no new term.
        deadline = time.monotonic() + 8 * 2 * ELECTION_MS / 1000
        while time.monotonic() < deadline:
            for i in self.voting:
                st = c.must_status(i)
                self.assertEqual({(st["leader"], st["term"])}, lead_term, f"member {i}: {st}")
            time.sleep(0.1)
        st = c.must_status(gone)
        self.assertEqual(st["standing"], "removed", st)
        self.assertEqual(c.put_retry("still", b"fine", ids=self.voting)[1].status, 200)

    def test_refusals(self):
        c = self.membership_cluster(3, 1, name="refusals", extra_args=[
            "--request-timeout", str(REQUEST_TIMEOUT_MS), "--election-timeout", "1000",
            "--heartbeat-interval", "50"])
        self.voting = [0, 1, 2]
        leader = c.wait_for_leader(timeout=10, ids=self.voting)
        follower = next(i for i in self.voting if i != leader)

        def a(via, method, path):
            return self.admin(c, via, method, path)

        # 400: malformed.
        raft3 = c.raft_addr(3)
        for path in ("/members", "/members?id=3", f"/members?raft={raft3}",
                     f"/members?id=x&raft={raft3}", f"/members?id=-1&raft={raft3}",
                     f"/members?id=18446744073709551615&raft={raft3}",
                     "/members?id=3&raft=nohost", "/members?id=3&raft=example.com:1",
                     "/members?id=3&raft=:0", f"/members?id=3&raft={raft3}&http=bad",
                     f"/members?id=3&raft={raft3}&x=1", f"/members?id=3&id=4&raft={raft3}"):
            r = a(leader, "POST", path)
            self.assertEqual(r.status, 400, f"POST {path}: {r}")
            self.assertIn("error", r.json())
        for path in ("/members/", "/members/abc", "/members/1?x=1", "/members/1/2",
                     "/members/0x1"):
            r = a(leader, "DELETE", path)
            self.assertEqual(r.status, 400, f"DELETE {path}: {r}")
        # 405 with Allow.
        r = a(leader, "PUT", "/members")
        self.assertEqual((r.status, r.headers.get("allow")), (405, "GET, POST"), r)
        r = a(leader, "GET", "/members/1")
        self.assertEqual((r.status, r.headers.get("allow")), (405, "DELETE"), r)
        # 409: id in use, address in use; 404: unknown id.
        r = a(leader, "POST", f"/members?id={follower}&raft={raft3}")
        self.assertEqual(r.status, 409, r)
        r = a(leader, "POST", f"/members?id=3&raft={c.raft_addr(follower)}")
        self.assertEqual(r.status, 409, r)
        self.assertIn("already uses", r.json()["error"])
        r = a(leader, "DELETE", "/members/99")
        self.assertEqual(r.status, 404, r)
        # A follower names the leader instead of proposing.
        r = a(follower, "POST", c.add_path(3))
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.json()["leader"], leader, r)
        self.assertEqual(r.json()["leader_http"], c.http_addr(leader), r)
        r = a(follower, "DELETE", f"/members/{follower}")
        self.assertEqual(r.status, 503, r)
        self.assertEqual(c.members_of(leader).keys(), {0, 1, 2}, "nothing changed")

        # A change pending: with both followers paused the leader's change
        # cannot commit (504 at the request timeout); a second one sent
        # meanwhile is refused. The leader keeps leading for at least an
        # election timeout (1 s) before check-quorum deposes it.
        others = [i for i in self.voting if i != leader]
        for i in others:
            c.pause(i)
        first = {}
        t = threading.Thread(target=lambda: first.update(r=a(leader, "POST", c.add_path(3))))
        t.start()
        time.sleep(0.1)
        second = a(leader, "DELETE", f"/members/{others[0]}")
        t.join(timeout=10)
        for i in others:
            c.resume(i)
        self.assertEqual(second.status, 409, second)
        self.assertIn("not committed yet", second.json()["error"])
        self.assertIs(second.json().get("retry"), True, second)
        self.assertIn(first["r"].status, (200, 504), first["r"])
        # The pending add may still commit once the followers are back:
        # either way the configuration ends up the same on all three.
        leader = c.wait_for_leader(timeout=10, ids=self.voting)
        harness.wait_until(lambda: len({tuple(sorted(c.members_of(i))) for i in self.voting}) == 1,
                           CHANGE_BOUND, "the three to agree on the configuration")

    def test_join_command_line(self):
        # --join needs a spec naming an existing member besides this one.
        r = harness.run([harness.binary(), "--node", "3", "--join", "--cluster", "3,:1"])
        self.assertEqual(r.returncode, 2, r)
        self.assertEqual(len(r.stderr_lines()), 1, r.stderr)
        self.assertIn("--join", r.stderr)
        r = harness.run([harness.binary(), "--node", "3", "--join", "--cluster", "0,:1;1,:2"])
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("not in --cluster", r.stderr)

    def test_removing_the_last_voter_is_refused(self):
        c = self.membership_cluster(1, 0, name="last-voter")
        c.wait_for_leader(timeout=10, ids=[0])
        def refused_for_good():
            # A new leader refuses changes until it committed an entry of
            # its term (409 with "retry": true): wait for the real answer.
            r = c.request(0, "DELETE", "/members/0")
            return None if r.status == 409 and r.json().get("retry") else r
        r = harness.wait_until(refused_for_good, 10, "an answer to DELETE /members/0")
        self.assertEqual(r.status, 409, r)
        self.assertIn("last voter", r.json()["error"])
        self.assertNotIn("retry", r.json())
        self.assertEqual(list(c.members_of(0)), [0])


if __name__ == "__main__":
    harness.main()
