#!/usr/bin/env python3
"""--cluster-secret-file: members that share the secret form a cluster; a peer
without it, or with another one, is refused on the peer port, logged and
counted, and cannot move anyone's term; a bad secret file stops the daemon
at start with exit 1 and one line.

The handshake is spoken by hand here (docs/peer-protocol.md, "Cluster
secret"), with Python's hmac: a raw client that knows the secret gets the
acceptor's valid AuthAck, which checks the documented byte layout against
the daemon's libsodium code. Python stdlib only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from peer_wire import HANDSHAKE_MAGIC as MAGIC, f_bytes, f_fixed32, f_varint, frame, parse_fields  # noqa: E402,E501

REJECTED = "raftkv_peer_rejected_total"
SECRET = os.urandom(32)
OTHER_SECRET = os.urandom(32)


def be(n: int, width: int) -> bytes:
    return n.to_bytes(width, "big")


def handshake_proof(secret: bytes, nonce_a: bytes, nonce_c: bytes, frm: int, to: int,
                    address: bytes) -> bytes:
    data = (b"raftkv-peer-v1 handshake\0" + be(len(nonce_a), 4) + nonce_a + be(len(nonce_c), 4)
            + nonce_c + be(frm, 8) + be(to, 8) + be(len(address), 4) + address)
    return hmac.new(secret, data, hashlib.sha256).digest()


def ack_proof(secret: bytes, nonce_a: bytes, nonce_c: bytes, frm: int, to: int) -> bytes:
    data = (b"raftkv-peer-v1 ack\0" + be(len(nonce_a), 4) + nonce_a + be(len(nonce_c), 4)
            + nonce_c + be(frm, 8) + be(to, 8))
    return hmac.new(secret, data, hashlib.sha256).digest()


def handshake(frm: int, to: int, nonce: bytes = b"", auth: bytes = b"",
              address: bytes = b"") -> bytes:
    out = f_fixed32(1, MAGIC) + f_varint(2, 1) + f_varint(3, frm) + f_varint(4, to)
    if auth:
        out += f_bytes(5, auth)
    if address:
        out += f_bytes(6, address)
    if nonce:
        out += f_bytes(7, nonce)
    return out


def append_entries(frm: int, to: int, term: int) -> bytes:
    body = f_varint(1, 0) + f_varint(2, 0) + f_varint(4, 0)  # prev index/term, commit
    return f_varint(1, frm) + f_varint(2, to) + f_varint(3, term) + f_bytes(12, body)


class PeerClient:
    """A raw TCP connection to a member's peer port."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""

    def read_frame(self, timeout: float = 5.0) -> bytes | None:
        """The next frame's payload, or None if the member closed first."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    payload, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return payload
            left = deadline - time.monotonic()
            assert left > 0, "no frame from the member in time"
            self.sock.settimeout(left)
            data = self.sock.recv(4096)
            if not data:
                return None
            self.buf += data

    def wait_closed(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return True
            if not data:
                return True
            self.buf += data
        return False

    def challenge_nonce(self) -> bytes:
        fields = parse_fields(self.read_frame())
        assert fields.get(1) == MAGIC and fields.get(2) == 1, fields
        nonce = fields[3]
        assert len(nonce) == 32, nonce
        return nonce

    def close(self) -> None:
        self.sock.close()


def write_secret(directory: str, name: str, data: bytes, mode: int = 0o600) -> str:
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


def rejections(c: harness.Cluster, i: int) -> dict[str, int]:
    body = c.request(i, "GET", "/metrics", timeout=10).body.decode()
    counts = {}
    for reason, value in re.findall(REJECTED + r'\{reason="(\w+)"\} (\S+)', body):
        counts[reason] = int(float(value))
    assert "auth_failed" in counts and "auth_missing" in counts, body[:2000]
    return counts


def secret_cluster(test: harness.ClusterTestCase, secrets: list[bytes | None]) -> harness.Cluster:
    """A cluster whose member i uses secrets[i] (None: no flag)."""
    c = test.cluster(len(secrets), start=False)
    for m, secret in zip(c.members, secrets):
        if secret is not None:
            m.extra_args = ["--cluster-secret-file", write_secret(c.tmp, f"secret-{m.id}", secret)]
    c.start()
    return c


class ClusterSecret(harness.ClusterTestCase):
    def test_forged_peers_are_refused_and_members_serve(self):
        c = secret_cluster(self, [SECRET, SECRET, SECRET])
        lead = c.wait_for_leader(timeout=10)
        self.assertEqual(c.put(lead, "k", b"v1").status, 200)
        term = c.must_status(lead)["term"]
        victim = next(i for i in range(3) if i != lead)
        port = c.members[victim].raft_port

        # A peer that knows the secret is answered with a valid AuthAck:
        # the documented layout, computed here with Python's hmac.
        before = rejections(c, victim)
        conn = PeerClient(port)
        nonce_a = conn.challenge_nonce()
        nonce_c = os.urandom(32)
        address = b"127.0.0.1:1"
        proof = handshake_proof(SECRET, nonce_a, nonce_c, lead, victim, address)
        conn.sock.sendall(frame(handshake(lead, victim, nonce_c, proof, address)))
        ack = parse_fields(conn.read_frame())
        self.assertEqual(ack.get(1), ack_proof(SECRET, nonce_a, nonce_c, lead, victim))
        conn.close()
        # (The member's real leader connection is replaced by ours and
        # reconnects: harmless, and not a rejection.)

        # Forgeries claiming the leader's id, each followed by an
        # AppendEntries with a much higher term: none is obeyed.
        forgeries = {
            "no proof": ("auth_missing", lambda nonce: handshake(lead, victim)),
            "another secret": ("auth_failed", lambda nonce: handshake(
                lead, victim, nonce_c, handshake_proof(OTHER_SECRET, nonce, nonce_c, lead,
                                                       victim, b""))),
            "replayed proof": ("auth_failed", lambda nonce: handshake(
                lead, victim, nonce_c, proof, address)),
            "truncated proof": ("auth_failed", lambda nonce: handshake(
                lead, victim, nonce_c, handshake_proof(SECRET, nonce, nonce_c, lead, victim,
                                                       b"")[:31])),
        }
        expected = {}
        for case, (reason, make) in forgeries.items():
            conn = PeerClient(port)
            nonce = conn.challenge_nonce()
            conn.sock.sendall(frame(make(nonce)) + frame(append_entries(lead, victim, term + 100)))
            self.assertTrue(conn.wait_closed(), f"{case}: connection not closed")
            conn.close()
            expected[reason] = expected.get(reason, 0) + 1
        # A stranger that never reads the challenge: refused the same way.
        conn = PeerClient(port)
        conn.sock.sendall(frame(handshake(lead, victim)) +
                          frame(append_entries(lead, victim, term + 100)))
        self.assertTrue(conn.wait_closed(), "blind stranger: connection not closed")
        conn.close()
        expected["auth_missing"] += 1

        after = rejections(c, victim)
        delta = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
        self.assertEqual(delta, expected, "rejections counted on the attacked member")
        for i in range(3):
            st = c.must_status(i)
            self.assertEqual((st["term"], st["leader"]), (term, lead),
                             f"member {i} obeyed a forged message: {st}")
        log = c.log_text(victim)
        self.assertIn("carries no cluster-secret proof", log)
        self.assertIn("wrong cluster-secret proof", log)
        self.assertEqual(c.put(lead, "k", b"v2").status, 200)
        self.assertEqual(c.get(victim, "k").body, b"v2")
        print(f"refused on member {victim}: {delta}; term {term}, leader {lead} unchanged")

    def test_snapshot_reaches_a_lagging_member_over_authenticated_connections(self):
        """Snapshot chunks travel as Messages on the same authenticated
        connections: a member that missed compacted entries catches up."""
        c = secret_cluster(self, [SECRET, SECRET, SECRET])
        for m in c.members:
            m.extra_args += ["--snapshot-entries", "20", "--snapshot-trailing", "0"]
        c.stop_all()
        for i in range(3):
            c.start_member(i)
        c.wait_serving()
        lead = c.wait_for_leader(timeout=10)
        lagging = next(i for i in range(3) if i != lead)
        c.stop(lagging)
        for k in range(60):
            self.assertEqual(c.put(lead, f"s{k}", f"v{k}".encode()).status, 200)

        def compacted():
            st = c.must_status(lead)
            return st.get("first_log_index", 0) > 1
        harness.wait_until(compacted, 10, f"leader {lead} to compact its log")
        c.start_member(lagging)
        c.wait_serving([lagging])
        target = c.must_status(lead)["commit_index"]
        harness.wait_until(lambda: c.must_status(lagging)["applied_index"] >= target, 20,
                           f"member {lagging} to catch up to {target}")
        st = c.must_status(lagging)
        self.assertGreater(st.get("snapshot_index", 0), 0, f"caught up without a snapshot: {st}")
        body = c.request(lagging, "GET", "/metrics").body.decode()
        installs = re.search(r"^raftkv_snapshot_installs_total (\S+)", body, re.M)
        self.assertTrue(installs and float(installs.group(1)) >= 1,
                        f"member {lagging} installed no snapshot")
        self.assertEqual(c.get(lagging, "s59", stale="true").body, b"v59")
        self.assertEqual(sum(rejections(c, i)["auth_failed"] + rejections(c, i)["auth_missing"]
                             for i in range(3)), 0)

    def stays_outside(self, c: harness.Cluster, lead: int, term: int) -> None:
        """For 1.5 s (five election timeouts, plenty for a connected member to
        hear the leader's heartbeats and commits), member 2 never learns the
        leader or anything committed, and the others keep leader and term."""
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            st2 = c.must_status(2)
            self.assertNotEqual(st2["leader"], lead, f"member 2 joined: {st2}")
            self.assertEqual(st2["commit_index"], 0, f"member 2 learned commits: {st2}")
            for i in (0, 1):
                st = c.must_status(i)
                self.assertEqual((st["term"], st["leader"]), (term, lead),
                                 f"member 2 disturbed member {i}: {st}")
            time.sleep(0.1)

    def test_member_with_another_secret_or_none_never_joins(self):
        c = secret_cluster(self, [SECRET, SECRET, OTHER_SECRET])
        lead = c.wait_for_leader(timeout=10, ids=[0, 1])
        self.assertEqual(c.put(lead, "a", b"1").status, 200)
        term = c.must_status(lead)["term"]

        def refused_both_ways():
            return (rejections(c, 2)["auth_failed"] >= 1
                    and rejections(c, lead)["auth_failed"] >= 1)
        harness.wait_until(refused_both_ways, 10, "members 0/1 and 2 to refuse each other")
        self.stays_outside(c, lead, term)
        self.assertIn("authentication failed", c.log_text(2))
        self.assertEqual(c.put(lead, "a", b"2").status, 200)
        self.assertEqual(c.must_status(lead)["term"], term, "member 2 disturbed the term")

        # Restarted without any secret: still outside.
        c.stop(2)
        before = rejections(c, lead)["auth_missing"]
        c.members[2].extra_args = []
        c.start_member(2)
        c.wait_serving([2])
        harness.wait_until(lambda: rejections(c, lead)["auth_missing"] > before, 10,
                           f"member {lead} to refuse member 2 without a proof")
        self.assertEqual(c.put(lead, "a", b"3").status, 200)
        self.stays_outside(c, lead, term)
        # WARN lines are rate-limited: a peer redialling every 200 ms does
        # not flood the log (3 per 10 s, plus those of the other kind).
        warns = c.log_text(lead).count("cluster-secret proof")
        self.assertLess(warns, 20, "refusals flood the log")

    def test_bad_secret_files_stop_the_daemon(self):
        tmp = self.cluster(1, start=False).tmp
        port_raft, port_http = harness.free_ports(2)
        base = [harness.binary(), "--node", "0", "--cluster", f"0,:{port_raft},:{port_http}",
                "--data-dir", os.path.join(tmp, "data")]
        cases = {
            "missing": (os.path.join(tmp, "nope"), 1, "No such file"),
            "empty": (write_secret(tmp, "empty", b""), 1, "empty"),
            "too short": (write_secret(tmp, "short", b"short\n"), 1, "fewer than 16"),
            "world-readable": (write_secret(tmp, "open", SECRET, 0o644), 1, "chmod 600"),
            "group-readable": (write_secret(tmp, "group", SECRET, 0o640), 1, "chmod 600"),
            "a directory": (tmp, 1, "not a regular file"),
            "too large": (write_secret(tmp, "large", b"x" * 5000), 1, "larger than"),
        }
        for case, (path, code, text) in cases.items():
            r = harness.run(base + ["--cluster-secret-file", path], timeout=10)
            self.assertEqual(r.returncode, code, f"{case}: {r.stderr}")
            lines = r.stderr_lines()
            self.assertEqual(len(lines), 1, f"{case}: {lines}")
            self.assertIn("--cluster-secret-file", lines[0])
            self.assertIn(text, lines[0], case)
        r = harness.run(base + ["--cluster-secret-file"], timeout=10)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--cluster-secret-file", r.stderr)


if __name__ == "__main__":
    harness.main()
