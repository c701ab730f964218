#!/usr/bin/env python3
"""Failing disks on a live 3-member cluster (issue 5, "Disk"; the start-time
cases are test/integration/test_storage_recovery.py):

- full disk: the leader's data dir is a small tmpfs this test mounts and
  fills with a ballast file (as root; otherwise ENOSPC is injected with the
  shim below, and the test says so). Writes get 503 "disk full" or 504,
  never 200 for something not durable; the full leader hands leadership
  over, the others stay writable; once the ballast is gone the member
  resumes by itself; every acknowledged write reads back, also after a
  restart of all members. Then every member's disk full at once (three
  tmpfs): all refuse writes 503 and stay up, stale reads work, all resume.
- failed fdatasync (EIO): the leader exits 1 naming the file and the errno,
  and recovers from its disk at restart.
- stuck fdatasync: the leader hands leadership over within about two
  election timeouts, answers writes 503 "disk stuck" while stuck (it does
  not forward them: its own apply, which answers the client, waits for its
  disk), and catches up as a follower once the call returns.

The failures are injected with disk_fault_shim.c (LD_PRELOAD, path in
RAFTKV_DISK_FAULT_SHIM): one control file per member, written by the test.
Docs: docs/hostile-input.md and docs/operations.md, "Disk".
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import threading
import unittest

from hostile_common import harness, print_table, record

SHIM = os.environ.get("RAFTKV_DISK_FAULT_SHIM", "")
ELECTION_MS = 300  # harness.FAST_FLAGS
# Everything this test waits for happens within a few election timeouts;
# the margin covers a loaded 2-core CI machine.
DEADLINE = 15.0


def tearDownModule():  # noqa: N802
    print_table("Disk faults (member, case -> answer)")


class FaultyCluster(harness.Cluster):
    """A cluster whose members run with the fault shim preloaded, each with
    its own control file (empty: no fault)."""

    def __init__(self, **kw):
        super().__init__(start=False, **kw)
        self.controls = [os.path.join(self.tmp, f"fault-{i}") for i in range(self.n)]
        for i in range(self.n):
            self.set_fault(i, "")

    def set_fault(self, i: int, word: str) -> None:
        with open(self.controls[i], "w") as f:
            f.write(word)

    def command(self, i, extra=None):
        m = self.members[i]
        env = ["env", f"LD_PRELOAD={SHIM}", f"RAFTKV_DISK_FAULT={self.controls[i]}",
               f"RAFTKV_DISK_FAULT_DIR={m.data_dir}", "UV_USE_IO_URING=0"]
        return env + super().command(i, extra)


def metric(c: harness.Cluster, i: int, name: str) -> float:
    value = c.metrics(i).get(name)
    if value is None:
        raise AssertionError(f"no {name} in /metrics of member {i}")
    return value


def error_of(r: harness.Response) -> str:
    try:
        return r.json().get("error", "")
    except ValueError:
        return ""


@unittest.skipUnless(SHIM and os.path.exists(SHIM), "RAFTKV_DISK_FAULT_SHIM not built")
class DiskFaults(harness.ClusterTestCase):
    def setUp(self):
        self.acked: dict[str, bytes] = {}
        self.counter = 0

    def faulty(self) -> FaultyCluster:
        c = FaultyCluster(n=3, name=self._testMethodName.removeprefix("test_")[:30])
        self.__dict__.setdefault("_clusters", []).append(c)
        self.addCleanup(c.cleanup)
        return c

    def put(self, c, i, timeout=3.0) -> harness.Response | None:
        """A fresh key through member i; remembered when acknowledged."""
        self.counter += 1
        key, value = f"k{self.counter}", f"v{self.counter}-{i}".encode()
        r = c.try_request(i, "PUT", harness.kv_path(key), value, timeout=timeout)
        if r is not None and r.status == 200:
            self.acked[key] = value
        return r

    def put_ok(self, c, i, n=1) -> None:
        for _ in range(n):
            r = self.put(c, i)
            self.assertIsNotNone(r, f"member {i} did not answer a write")
            self.assertEqual(r.status, 200, r)

    def put_eventually(self, c, i, what: str) -> None:
        def ok():
            r = self.put(c, i)
            return r is not None and r.status == 200
        harness.wait_until(ok, DEADLINE, what, interval=0.1)

    def check_acked(self, c, ids, stale=False, only=None) -> None:
        """Every acknowledged write reads back with its value on each member."""
        for i in ids:
            for key, value in (self.acked if only is None else only).items():
                params = {"stale": "true"} if stale else {}
                r = c.get(i, key, **params)
                self.assertEqual((r.status, r.body), (200, value), f"member {i} key {key}")

    def wait_caught_up(self, c, i, leader) -> None:
        def ok():
            st, lst = c.status(i), c.status(leader)
            return (st and lst and st.get("leader") == leader and st.get("disk") == "ok"
                    and st["applied_index"] >= lst["commit_index"])
        harness.wait_until(ok, DEADLINE, f"member {i} to catch up with leader {leader}")

    def make_leader(self, c, target) -> None:
        lead = c.wait_for_leader(timeout=DEADLINE)
        if lead != target:
            r = c.request(lead, "POST", f"/leader?to={target}")
            self.assertEqual(r.status, 200, r)
        harness.wait_until(lambda: c.leader_id() == target, DEADLINE, f"member {target} leads")

    # ------------------------------------------------------------------
    def test_full_disk(self):
        c = self.faulty()
        data = c.members[0].data_dir
        os.makedirs(data)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", data],
                                 capture_output=True).returncode == 0

        def unmount():
            c.cleanup()  # the members first: a busy mount cannot go
            if mounted and os.path.ismount(data):
                subprocess.run(["umount", "-l", data], check=False)
                if not c.keep:
                    shutil.rmtree(c.tmp, ignore_errors=True)
        self.addCleanup(unmount)
        atexit.register(unmount)  # also when the test run is interrupted
        how = "tmpfs of 32 MiB filled with a ballast file" if mounted else \
            "ENOSPC injected by the LD_PRELOAD shim (tmpfs mount not permitted: not root?)"
        print(f"full disk: {how}", flush=True)
        c.start()
        self.make_leader(c, 0)
        self.put_ok(c, 0, 20)

        before_full = dict(self.acked)
        ballast = os.path.join(data, "ballast")
        if mounted:
            fill(ballast)
        else:
            c.set_fault(0, "enospc")

        # Member 0 cannot write: it must refuse (503) or time out (504),
        # hand leadership over, and stay up; the others keep taking writes.
        answers = []
        def refused():
            r = self.put(c, 0, timeout=6.0)
            answers.append(r.status if r is not None else None)
            return r is not None and r.status == 503 and error_of(r) == "disk full"
        harness.wait_until(refused, DEADLINE, "member 0 to answer 503 disk full", interval=0.1)
        self.assertTrue(set(answers) <= {503, 504, 200}, answers)
        record("full disk: write to the full member", f"{sorted(set(answers))} -> 503 disk full")
        new = c.wait_for_leader(timeout=DEADLINE, ids=[1, 2])
        self.assertIn(new, (1, 2))
        record("full disk: the full member led", f"handed over to member {new}")
        self.put_ok(c, 1, 5)
        self.put_ok(c, 2, 5)
        for _ in range(3):
            r = self.put(c, 0)
            self.assertEqual((r.status, error_of(r)), (503, "disk full"), r)
        self.assertEqual(metric(c, 0, "raftkv_disk_full"), 1.0)
        self.assertEqual(c.must_status(0)["disk"], "full")
        # Reads: linearizable where a majority can be reached, stale anywhere.
        self.check_acked(c, [1, 2])
        # Member 0 cannot log (so apply) what was written since.
        self.check_acked(c, [0], stale=True, only=before_full)
        c.assert_alive(0)
        record("full disk: reads", "linearizable via members 1, 2; stale via member 0: all 200")

        # Space returns: the member resumes by itself.
        if mounted:
            os.unlink(ballast)
        else:
            c.set_fault(0, "")
        harness.wait_until(lambda: metric(c, 0, "raftkv_disk_full") == 0.0, DEADLINE,
                           "member 0 to leave the disk-full state")
        self.wait_caught_up(c, 0, new)
        for i in range(3):
            self.put_eventually(c, i, f"a write through member {i} after space returned")
        self.assertGreaterEqual(metric(c, 0, "raftkv_disk_full_episodes_total"), 1.0)
        record("full disk: space returns", "resumed by itself; writes 200 via every member")
        self.check_acked(c, range(3))

        # Everything acknowledged survives a restart of all members.
        c.stop_all()
        for i in range(3):
            c.start_member(i)
        c.wait_serving()
        c.wait_for_leader(timeout=DEADLINE)
        self.check_acked(c, range(3))
        record("full disk: restart of all members", f"{len(self.acked)} acknowledged writes read back")

    # ------------------------------------------------------------------
    def test_full_disk_everywhere(self):
        """Every member's disk full: nothing can commit, every member
        refuses writes (503) and stays up; all resume once space returns."""
        c = self.faulty()
        mounts = []

        def unmount():
            c.cleanup()
            for d in mounts:
                if os.path.ismount(d):
                    subprocess.run(["umount", "-l", d], check=False)
        self.addCleanup(unmount)
        atexit.register(unmount)
        for m in c.members:
            os.makedirs(m.data_dir)
            if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", m.data_dir],
                              capture_output=True).returncode == 0:
                mounts.append(m.data_dir)
        if len(mounts) < 3:
            self.skipTest("tmpfs mount not permitted (not root?)")
        c.start()
        lead = c.wait_for_leader(timeout=DEADLINE)
        self.put_ok(c, lead, 10)
        before_full = dict(self.acked)
        for d in mounts:
            fill(os.path.join(d, "ballast"))

        codes = set()
        for i in range(3):
            def refused(i=i):
                r = self.put(c, i, timeout=6.0)
                codes.add(r.status if r is not None else None)
                return r is not None and r.status == 503 and error_of(r) == "disk full"
            harness.wait_until(refused, DEADLINE, f"member {i} to answer 503 disk full",
                               interval=0.1)
        self.assertTrue(codes <= {200, 503, 504}, codes)
        record("every member's disk full: writes", f"{sorted(codes)} -> 503 disk full on all")
        self.check_acked(c, range(3), stale=True, only=before_full)
        record("every member's disk full: stale reads", "200 on all, all members up")

        for d in mounts:
            os.unlink(os.path.join(d, "ballast"))
        for i in range(3):
            self.put_eventually(c, i, f"a write through member {i} after space returned")
        self.check_acked(c, range(3))
        record("every member's disk full: space returns",
               "all resume by themselves; writes 200 via every member; all acknowledged read back")

    # ------------------------------------------------------------------
    def test_fsync_failure(self):
        c = self.faulty()
        c.start()
        lead = c.wait_for_leader(timeout=DEADLINE)
        self.put_ok(c, lead, 10)
        c.set_fault(lead, "eio")
        answers = [self.put(c, lead, timeout=6.0) for _ in range(3)]
        rc = c.wait_exit(lead, timeout=DEADLINE)
        self.assertEqual(rc, 1, c.log_tail(lead))
        lines = [ln for ln in c.log_text(lead).splitlines() if "fdatasync" in ln and "EIO" in ln]
        self.assertTrue(lines, c.log_tail(lead))
        self.assertIn(c.members[lead].data_dir, lines[0])
        codes = [r.status if r is not None else None for r in answers]
        # 200 only for writes a majority made durable: they must read back.
        self.assertTrue(set(codes) <= {200, 503, 504, None}, codes)
        record("fdatasync fails (EIO) on the leader",
               f"exit 1, '{lines[0].split(' ', 1)[1][:90]}...'; writes got {codes}")

        others = [i for i in range(3) if i != lead]
        new = c.wait_for_leader(timeout=DEADLINE, ids=others)
        self.put_ok(c, new, 5)
        c.set_fault(lead, "")
        c.restart(lead)
        self.wait_caught_up(c, lead, c.wait_for_leader(timeout=DEADLINE))
        self.put_ok(c, lead, 3)
        self.check_acked(c, range(3))
        record("fdatasync fails: restart without the fault",
               "recovered from its disk, caught up; all acknowledged writes read back")

    # ------------------------------------------------------------------
    def test_stuck_disk(self):
        c = self.faulty()
        c.start()
        lead = c.wait_for_leader(timeout=DEADLINE)
        self.put_ok(c, lead, 10)
        c.set_fault(lead, "stall")
        # One write makes the leader's log flush, and so stall; its answer
        # comes once the member gave up on it (504) or it committed (200).
        stuck_answer = []
        writer = threading.Thread(target=lambda: stuck_answer.append(c.try_request(
            lead, "PUT", harness.kv_path("stuck"), b"during-stall", timeout=8.0)))
        writer.start()
        try:
            others = [i for i in range(3) if i != lead]
            new = c.wait_for_leader(timeout=DEADLINE, ids=others)
            record("fdatasync stalls on the leader", f"member {new} leads (hand-off)")
            self.put_ok(c, new, 5)
            self.put_ok(c, [i for i in others if i != new][0], 5)

            def refused():
                r = self.put(c, lead)
                return r is not None and r.status == 503 and error_of(r) == "disk stuck"
            harness.wait_until(refused, DEADLINE, "the stuck member to answer 503 disk stuck")
            self.assertEqual(c.must_status(lead)["disk"], "stuck")
            self.assertEqual(metric(c, lead, "raftkv_disk_stuck"), 1.0)
            self.assertGreaterEqual(metric(c, lead, "raftkv_disk_handoffs_total"), 1.0)
            record("write to the stuck member", "503 disk stuck")
        finally:
            c.set_fault(lead, "")
            writer.join(timeout=DEADLINE)
        self.assertFalse(writer.is_alive())
        r = stuck_answer[0]
        self.assertTrue(r is None or r.status in (200, 503, 504), r)
        if r is not None and r.status == 200:
            self.acked["stuck"] = b"during-stall"
        record("the write that found the disk stuck", repr(r))
        self.wait_caught_up(c, lead, c.wait_for_leader(timeout=DEADLINE))
        self.put_eventually(c, lead, "a write through the formerly stuck member")
        self.check_acked(c, range(3))
        record("fdatasync returns", "caught up as a follower; writes 200; all acknowledged read back")


def fill(path: str) -> None:
    """Writes `path` until the file system is full (ENOSPC)."""
    with open(path, "wb", buffering=0) as f:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as e:
                if e.errno != 28:  # ENOSPC
                    raise


if __name__ == "__main__":
    harness.main()
