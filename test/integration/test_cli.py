#!/usr/bin/env python3
"""Command line: --help, --version, bad flags (exit 2), runtime errors
(exit 1), signals (exit 0)."""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class CommandLine(harness.ClusterTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="raftkv-it-cli-")
        self.addCleanup(lambda: __import__("shutil").rmtree(self.tmp, ignore_errors=True))
        p = harness.free_ports(2)
        self.spec = f"0,127.0.0.1:{p[0]},127.0.0.1:{p[1]}"
        self.http_port = p[1]
        self.raft_port = p[0]

    def raftkvd(self, *args, timeout=10):
        return harness.run([harness.binary(), *args], timeout=timeout)

    def assertUsageError(self, r, *names):
        lines = r.stderr_lines()
        self.assertEqual(r.returncode, 2, f"expected exit 2, got {r.returncode}; stderr: {r.stderr!r}")
        self.assertEqual(len(lines), 1, f"expected exactly one line on stderr, got {r.stderr!r}")
        self.assertTrue(any(n in lines[0] for n in names),
                        f"stderr line {lines[0]!r} names none of {names}")

    def test_help(self):
        r = self.raftkvd("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout + r.stderr
        for flag in ("--node", "--cluster", "--http", "--data-dir"):
            self.assertIn(flag, out, f"--help does not mention {flag}")

    def test_version(self):
        r = self.raftkvd("--version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout + r.stderr, r"\d+\.\d+\.\d+")

    def test_unknown_flag(self):
        self.assertUsageError(self.raftkvd("--bogus-flag", "--node", "0", "--cluster", self.spec),
                              "--bogus-flag", "bogus-flag")

    def test_bad_values(self):
        d = os.path.join(self.tmp, "d")
        cases = [
            (["--node", "abc", "--cluster", self.spec], ("abc", "--node")),
            (["--node", "0", "--cluster", "0,:notaport"], ("notaport", "--cluster")),
            (["--node", "0", "--cluster", self.spec, "--election-timeout", "soon"],
             ("soon", "--election-timeout")),
            (["--node", "0", "--cluster", self.spec, "--heartbeat-interval", "-5"],
             ("-5", "--heartbeat-interval")),
            (["--node", "0", "--cluster", self.spec, "--log-level", "chatty"],
             ("chatty", "--log-level")),
            (["--node", "0"], ("--cluster",)),
            (["--node", "0", "--cluster", self.spec, "--election-timeout"],
             ("--election-timeout",)),
        ]
        for args, names in cases:
            with self.subTest(args=args):
                self.assertUsageError(self.raftkvd("--data-dir", d, *args), *names)
        self.assertFalse(os.path.exists(d), "a rejected command line created the data dir")

    def test_node_not_in_cluster(self):
        self.assertUsageError(self.raftkvd("--node", "7", "--cluster", self.spec, "--data-dir",
                                           os.path.join(self.tmp, "d")), "7", "--node")

    def start_member(self, *extra, data="d0"):
        p = harness.free_ports(2)
        self.spec = f"0,127.0.0.1:{p[0]},127.0.0.1:{p[1]}"
        self.raft_port, self.http_port = p
        log = open(os.path.join(self.tmp, data + ".log"), "wb")
        self.addCleanup(log.close)
        p = harness.spawn([harness.binary(), "--node", "0", "--cluster", self.spec, "--data-dir",
                           os.path.join(self.tmp, data), *harness.FAST_FLAGS, *extra],
                          stdout=log, stderr=log)
        self.addCleanup(harness.kill_proc, p)

        def serving():
            if p.poll() is not None:
                raise AssertionError(f"raftkvd exited with {p.returncode}: "
                                     f"{open(log.name, errors='replace').read()[-2000:]}")
            r = harness.http_request(self.http_port, "GET", "/status", timeout=1)
            return r.status == 200
        harness.wait_until(serving, 10, "the member to serve /status")
        return p

    def test_second_member_on_same_ports_exits_1(self):
        self.start_member()
        r = self.raftkvd("--node", "0", "--cluster", self.spec, "--data-dir",
                         os.path.join(self.tmp, "other"))
        self.assertEqual(r.returncode, 1, f"stderr: {r.stderr!r}")
        last = r.stderr_lines()[-1] if r.stderr_lines() else ""
        self.assertTrue(re.search(r"in use|address|bind|" + str(self.raft_port) + "|" +
                                  str(self.http_port), last, re.I),
                        f"last stderr line gives no clear reason: {last!r}")

    def test_http_port_in_use_exits_1(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.http_port))
        s.listen(1)
        self.addCleanup(s.close)
        r = self.raftkvd("--node", "0", "--cluster", self.spec, "--data-dir",
                         os.path.join(self.tmp, "d"))
        self.assertEqual(r.returncode, 1, f"stderr: {r.stderr!r}")
        last = r.stderr_lines()[-1] if r.stderr_lines() else ""
        self.assertTrue(str(self.http_port) in last or re.search("in use", last, re.I),
                        f"last stderr line does not name the port: {last!r}")

    def test_data_dir_is_a_file_exits_1(self):
        f = os.path.join(self.tmp, "afile")
        open(f, "w").write("not a directory")
        r = self.raftkvd("--node", "0", "--cluster", self.spec, "--data-dir", f)
        self.assertEqual(r.returncode, 1, f"stderr: {r.stderr!r}")
        self.assertTrue(r.stderr_lines(), "no reason on stderr")
        self.assertIn("afile", r.stderr_lines()[-1])

    def test_sigterm_and_sigint_exit_0(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(sig=sig):
                p = self.start_member(data=f"d-{int(sig)}")
                os.kill(p.pid, sig)
                try:
                    rc = p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.fail(f"still running 10 s after signal {sig}")
                self.assertEqual(rc, 0, f"exit status after signal {sig}")
                harness.kill_proc(p)


if __name__ == "__main__":
    harness.main()
