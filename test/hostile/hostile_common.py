"""Shared pieces of the hostile-input tests (Python 3 standard library only):
the integration harness import, a raw-socket HTTP/1.1 response reader, the
"cluster still healthy" check run after every attack, the /metrics rejection
counters each attack must move, and the results table.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import harness  # noqa: E402  (path set up above)

# (case, answer) rows, printed at the end of a run (tearDownModule).
TABLE: list[tuple[str, str]] = []


def record(case: str, answer: str) -> None:
    TABLE.append((case, answer))


def print_table(title: str) -> None:
    if not TABLE:
        return
    w = max(len(c) for c, _ in TABLE)
    out = [f"\n{title}", f"{'case'.ljust(w)} | answer", f"{'-' * w}-+-{'-' * 40}"]
    out += [f"{c.ljust(w)} | {a}" for c, a in TABLE]
    print("\n".join(out), flush=True)


class RawResponse:
    def __init__(self, status: int, reason: str, headers: dict, body: bytes):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def json(self):
        import json
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self) -> str:
        b = self.body if len(self.body) <= 200 else self.body[:200] + b"..."
        return f"<{self.status} {b!r}>"


class RawConn:
    """A client socket that reads HTTP/1.1 responses by hand (Content-Length
    bodies, as raftkvd sends them). Every read has a deadline."""

    def __init__(self, port: int, timeout: float = 5.0, rcvbuf: Optional[int] = None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""
        self.eof = False
        self.reset = False

    def send(self, data: bytes) -> bool:
        """False if the server already closed/reset the connection."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def _fill(self, deadline: float) -> bool:
        """Reads more bytes; False on EOF/reset/deadline."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            self.eof = self.reset = True
            return False
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def read_response(self, timeout: float = 5.0) -> Optional[RawResponse]:
        """The next response, or None if the connection ended (or the
        deadline passed) before a complete one arrived."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(deadline):
                return None
        head, rest = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        if status in (204, 304) or 100 <= status < 200:
            n = 0
        while len(rest) < n:
            self.buf = head + b"\r\n\r\n" + rest
            if not self._fill(deadline):
                return None
            head, rest = self.buf.split(b"\r\n\r\n", 1)
        self.buf = rest[n:]
        return RawResponse(status, reason, headers, rest[:n])

    def wait_closed(self, timeout: float = 5.0) -> bool:
        """True once the server closed (EOF or reset) within the timeout;
        bytes that arrive meanwhile are kept in buf."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            if not self._fill(deadline) and not self.eof:
                if time.monotonic() >= deadline:
                    return False
        return True

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def rejections(cluster: "harness.Cluster", member: int, family: str,
               conn: Optional[RawConn] = None) -> dict[str, int]:
    """The member's /metrics counters of `family` (raftkv_http_rejected_total
    or raftkv_peer_rejected_total) by reason. Through `conn` when given (a
    keep-alive connection: the member may refuse new ones)."""
    if conn is None:
        r = cluster.request(member, "GET", "/metrics", timeout=10)
        status, body = r.status, r.body
    else:
        assert conn.send(b"GET /metrics HTTP/1.1\r\n\r\n")
        raw = conn.read_response(timeout=10)
        assert raw is not None, "no answer to GET /metrics"
        status, body = raw.status, raw.body
    assert status == 200, f"GET /metrics on member {member}: {status}"
    prefix = family + '{reason="'
    counts = {}
    for line in body.decode().splitlines():
        if line.startswith(prefix):
            reason, _, value = line[len(prefix):].partition('"} ')
            counts[reason] = int(float(value))
    assert counts, f"member {member}: no {family} in /metrics"
    return counts


def rejections_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """The counters that moved, by how much."""
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


class Rejections:
    """Asserts how one attack moved a member's rejection counters:
        with Rejections(test, cluster, member, family, {"malformed": 1}, case): ...
    Exactly the counters named move, by exactly that much."""

    def __init__(self, test, cluster: "harness.Cluster", member: int, family: str,
                 expected: dict[str, int], case: str):
        self.test, self.c, self.member, self.family = test, cluster, member, family
        self.expected, self.case = expected, case
        self.delta: dict[str, int] = {}

    def __enter__(self):
        self.before = rejections(self.c, self.member, self.family)
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is not None:
            return False
        after = rejections(self.c, self.member, self.family)
        self.delta = rejections_delta(self.before, after)
        self.test.assertEqual(self.delta, self.expected,
                              f"{self.case}: {self.family} on member {self.member}")
        return False

    def label(self) -> str:
        """The counters that moved, for the results table."""
        return ", ".join(f"{k} +{v}" for k, v in sorted(self.delta.items())) or "none"


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise ValueError("no VmRSS")


class HealthChecker:
    """Data written before the attacks, and the check that follows each one:
    every member runs, a normal write through one member and a linearizable
    read through another succeed, and the earlier data reads back unchanged."""

    BASELINE = {
        b"baseline-plain": b"hello",
        b"baseline-\x00nul\xff": bytes(range(256)),
        b"baseline/with ?&=+%": b"\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    }

    def __init__(self, cluster: "harness.Cluster"):
        self.c = cluster
        self.round = 0

    def write_baseline(self) -> None:
        for k, v in self.BASELINE.items():
            r = self.c.put_retry(k, v, timeout=15)[1]
            assert r.status == 200, r

    def check(self, what: str) -> None:
        c = self.c
        for m in c.members:
            assert m.running(), f"after {what}: member {m.id} is not running:\n{c.log_tail(m.id)}"
        self.round += 1
        writer = self.round % c.n
        reader = (self.round + 1) % c.n
        key = f"health-{self.round}".encode()
        value = f"after {what}".encode()
        r = c.put(writer, key, value, timeout=10)
        assert r.status == 200, f"after {what}: PUT through member {writer}: {r}"
        r = c.get(reader, key, timeout=10)
        assert r.status == 200 and r.body == value, f"after {what}: GET via {reader}: {r}"
        for k, v in self.BASELINE.items():
            r = c.get(self.round % c.n, k, timeout=10)
            assert r.status == 200 and r.body == v, f"after {what}: baseline {k!r}: {r}"
