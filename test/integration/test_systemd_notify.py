#!/usr/bin/env python3
"""raftkvd under systemd's notify protocol, without systemd: the test binds
the NOTIFY_SOCKET datagram socket itself and checks READY=1 (sent only once
the HTTP port answers), STATUS= lines, WATCHDOG=1 pings at half of
WATCHDOG_USEC, STOPPING=1 and exit 0 on SIGTERM, and that SIGHUP does not
stop the member."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class NotifySocket:
    """The receiving end of sd_notify(3): a Unix datagram socket."""

    def __init__(self, path: str):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.received: list[tuple[float, str]] = []  # (monotonic time, one KEY=VALUE line)

    def close(self) -> None:
        self.sock.close()

    def poll(self, timeout: float) -> list[str]:
        """Reads datagrams for up to `timeout` s (returns early after the
        first); returns their lines and records them."""
        self.sock.settimeout(max(timeout, 0.001))
        lines = []
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, BlockingIOError):
            return lines
        now = time.monotonic()
        for line in data.decode(errors="replace").split("\n"):
            if line:
                lines.append(line)
                self.received.append((now, line))
        return lines

    def wait_for(self, predicate, timeout: float, what: str) -> str:
        """The first line, already received or arriving within `timeout`,
        that satisfies `predicate`."""
        for _, line in self.received:
            if predicate(line):
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.poll(deadline - time.monotonic()):
                if predicate(line):
                    return line
        raise AssertionError(f"no {what} within {timeout}s; received: {self.lines()[-20:]}")

    def lines(self, prefix: str = "") -> list[str]:
        return [line for _, line in self.received if line.startswith(prefix)]


class SystemdNotify(harness.ClusterTestCase):
    def setUp(self):
        if os.environ.get("RAFTKV_HAVE_SYSTEMD") == "0":
            self.skipTest("raftkvd built without libsystemd (-Dsystemd=disabled)")
        self.tmp = tempfile.mkdtemp(prefix="raftkv-it-sd-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.notify = NotifySocket(os.path.join(self.tmp, "notify.sock"))
        self.addCleanup(self.notify.close)
        raft_port, self.http_port = harness.free_ports(2)
        self.spec = f"0,127.0.0.1:{raft_port},127.0.0.1:{self.http_port}"
        self.log_path = os.path.join(self.tmp, "raftkvd.log")
        self.proc = None

    def start(self, **env_extra) -> subprocess.Popen:
        env = dict(os.environ)
        # Whatever runs this test (perhaps itself a systemd service) must not
        # leak its own notify, watchdog or journal settings into the member.
        for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"):
            env.pop(name, None)
        env["NOTIFY_SOCKET"] = self.notify.path
        env.update(env_extra)
        log = open(self.log_path, "wb")
        self.addCleanup(log.close)
        self.proc = harness.spawn(
            [harness.binary(), "--node", "0", "--cluster", self.spec,
             "--data-dir", os.path.join(self.tmp, "data"), *harness.FAST_FLAGS],
            stderr=log, env=env)
        self.addCleanup(harness.kill_proc, self.proc)
        return self.proc

    def log_text(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def status_now(self) -> harness.Response:
        # A single attempt, no retry: the port must already answer.
        return harness.http_request(self.http_port, "GET", "/status", timeout=5)

    def wait_ready(self) -> None:
        self.notify.wait_for(lambda l: l == "READY=1", 15, "READY=1")
        try:
            r = self.status_now()
        except OSError as e:
            self.fail(f"/status did not answer right after READY=1: {e!r}\n{self.log_text()}")
        self.assertEqual(r.status, 200, r)

    def count_watchdogs(self, seconds: float) -> int:
        before = len(self.notify.lines("WATCHDOG=1"))
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.notify.poll(deadline - time.monotonic())
        return len(self.notify.lines("WATCHDOG=1")) - before

    def assert_running(self) -> None:
        self.assertIsNone(self.proc.poll(),
                          f"raftkvd exited with {self.proc.returncode}:\n{self.log_text()}")

    def test_lifecycle(self):
        self.start(WATCHDOG_USEC="200000")
        self.wait_ready()
        self.assertEqual(self.notify.lines("READY=1"), ["READY=1"])

        # WATCHDOG_USEC=200000: a ping every 100 ms.
        pings = self.count_watchdogs(1.5)
        self.assertGreaterEqual(pings, 3, f"only {pings} WATCHDOG=1 in 1.5 s")

        # A cluster of one elects itself; STATUS= follows role, term, leader.
        line = self.notify.wait_for(lambda l: l.startswith("STATUS=role leader"), 10,
                                    "STATUS= naming this member leader")
        self.assertRegex(line, r"^STATUS=role leader, term [1-9][0-9]*, leader 0 \(this member\)$")
        self.assertTrue(any(l.startswith("STATUS=role follower, term ")
                            for l in self.notify.lines("STATUS=")),
                        f"no follower STATUS= before the election: {self.notify.lines('STATUS=')}")

        # SIGHUP: logged, nothing stops, the watchdog keeps going.
        self.proc.send_signal(signal.SIGHUP)
        harness.wait_until(lambda: "received SIGHUP" in self.log_text(), 5, "the SIGHUP log line")
        self.assert_running()
        self.assertGreaterEqual(self.count_watchdogs(0.5), 2)
        self.assertEqual(self.status_now().status, 200)
        self.assert_running()

        # SIGTERM: STOPPING=1, then exit 0.
        self.proc.send_signal(signal.SIGTERM)
        self.notify.wait_for(lambda l: l == "STOPPING=1", 10, "STOPPING=1")
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.fail(f"raftkvd still running 15 s after SIGTERM:\n{self.log_text()}")
        self.assertEqual(code, 0, self.log_text())
        self.assertEqual(self.notify.lines("READY=1"), ["READY=1"])

    def test_no_watchdog_unless_asked(self):
        self.start()
        self.wait_ready()
        self.assertEqual(self.count_watchdogs(0.6), 0)

    def test_watchdog_meant_for_another_process(self):
        # WATCHDOG_PID names the process systemd expects pings from.
        self.start(WATCHDOG_USEC="200000", WATCHDOG_PID=str(os.getpid()))
        self.wait_ready()
        self.assertEqual(self.count_watchdogs(0.6), 0)

    def test_stderr_lines_when_not_journal(self):
        # A JOURNAL_STREAM that is not our stderr (inherited from a service
        # that redirected it) must not switch the member to journal lines.
        self.start(JOURNAL_STREAM="1:1")
        self.wait_ready()
        harness.wait_until(lambda: " serving: " in self.log_text(), 5, "the serving line")
        line = next(l for l in self.log_text().splitlines() if " serving: " in l)
        self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO raftkvd: member 0 ")


if __name__ == "__main__":
    harness.main()
