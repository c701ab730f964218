#!/usr/bin/env python3
"""Hostile input on the client (HTTP) port: a catalogue of attacks against a
live 3-member cluster, each answered cleanly, each followed by a check that
the cluster still serves writes and linearizable reads and that data written
before the attacks reads back unchanged. Raw sockets, Python stdlib only.

The table of (case, answer) is printed at the end (docs/hostile-input.md).
Run: RAFTKVD=build/daemon/raftkvd python3 test/hostile/test_http_catalogue.py
"""

from __future__ import annotations

import os
import socket
import threading
import time
import unittest

from hostile_common import (HealthChecker, RawConn, Rejections, harness, print_table, record,
                             rejections, rejections_delta, rss_kib)

MAX_KEY = 256
MAX_VALUE = 64 * 1024
HEADER_TIMEOUT_S = 10.0  # http::Limits::header_timeout_ms; raftkvd has no flag for it
MAX_OUTPUT = 16 << 20    # http::Limits::max_output_bytes
REJECTED = "raftkv_http_rejected_total"


def tearDownModule():  # noqa: N802 - unittest hook
    print_table("HTTP hostile-input catalogue")


class HttpCatalogue(harness.ClusterTestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = cls.class_cluster(3, extra_args=[
            "--max-key-bytes", str(MAX_KEY), "--max-value-bytes", str(MAX_VALUE),
            "--request-timeout", "5s"])
        cls.c.wait_for_leader(timeout=15)
        cls.health = HealthChecker(cls.c)
        cls.health.write_baseline()

    def port(self, i: int = 0) -> int:
        return self.c.members[i].http_port

    # ---- helpers ----------------------------------------------------------
    def counted(self, member: int, reason: str, case: str, n: int = 1) -> Rejections:
        """Asserts that the block moves exactly the member's `reason` counter
        of raftkv_http_rejected_total, by n (reason "": no counter moves)."""
        return Rejections(self, self.c, member, REJECTED, {reason: n} if reason else {}, case)

    def expect_error(self, case: str, data: bytes, status: int, reason: str, member: int = 0,
                     closes: bool = True, timeout: float = 5.0, half_close: bool = False,
                     note: str = "") -> harness.Response:
        """Sends data, expects exactly one error answer `status` with a JSON
        body holding "error", then (closes=True) the server's close, and the
        member's /metrics counting it once under `reason`."""
        with self.counted(member, reason, case) as rej, \
                RawConn(self.port(member), timeout=timeout) as conn:
            conn.send(data)
            if half_close:
                conn.sock.shutdown(socket.SHUT_WR)
            t0 = time.monotonic()
            r = conn.read_response(timeout=timeout)
            self.assertIsNotNone(r, f"{case}: no answer (connection ended or timed out)")
            self.assertEqual(r.status, status, f"{case}: {r}")
            self.assertIn("application/json", r.headers.get("content-type", ""), case)
            body = r.json()
            self.assertIsInstance(body.get("error"), str, f"{case}: {r}")
            if closes:
                self.assertEqual(r.headers.get("connection", "").lower(), "close", f"{case}: {r}")
                self.assertTrue(conn.wait_closed(timeout=5), f"{case}: not closed after answer")
                self.assertEqual(conn.buf, b"", f"{case}: bytes after the error answer")
            elapsed = time.monotonic() - t0
        ans = f"{status} {body['error']!r}" + (", closed" if closes else "")
        record(case, ans + (f" ({note})" if note else "") + f"; counted: {rej.label()}")
        self.health.check(case)
        return r

    def expect_close_without_answer(self, conn: RawConn, case: str, timeout: float = 5.0):
        self.assertTrue(conn.wait_closed(timeout=timeout), f"{case}: not closed")
        self.assertEqual(conn.buf, b"", f"{case}: unexpected bytes {conn.buf[:200]!r}")

    def ok_request(self, member: int, method: str, path: str, body: bytes = b"") -> harness.Response:
        return self.c.request(member, method, path, body if method == "PUT" else None, timeout=10)

    # ---- malformed HTTP -----------------------------------------------------
    def test_01_non_http_bytes(self):
        tls_hello = bytes.fromhex("1603010200010001fc0303") + os.urandom(64)
        self.expect_error("non-HTTP bytes (TLS ClientHello)", tls_hello, 400, "malformed")
        self.expect_error("non-HTTP bytes (binary garbage)", b"\x00\xff\x13\x37" * 64, 400,
                          "malformed")

    def test_02_invalid_method(self):
        self.expect_error("invalid method token (FOO)", b"FOO /kv/a HTTP/1.1\r\n\r\n", 400,
                          "malformed")
        r = self.expect_error("known but unsupported method (PATCH /kv/a)",
                              b"PATCH /kv/a HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405,
                              "method_not_allowed",
                              closes=False, note="keep-alive, Allow header")
        self.assertIn("allow", r.headers)

    def test_03_invalid_request_line(self):
        self.expect_error("invalid request line (bad version)", b"GET /kv/a HTTX/1.1\r\n\r\n", 400,
                          "malformed")
        self.expect_error("invalid request line (space in target)",
                          b"GET /kv/a b HTTP/1.1\r\n\r\n", 400, "malformed")
        # llhttp reads a request line without a version as HTTP/0.9: it is
        # answered like any GET (here 404) and the connection closes.
        case = "request line without a version (HTTP/0.9 style)"
        with self.counted(0, "", case), RawConn(self.port(0)) as conn:
            conn.send(b"GET /kv/never-written\r\n\r\n")
            r = conn.read_response()
            self.assertIsNotNone(r, case)
            self.assertEqual(r.status, 404, f"{case}: {r}")
            self.assertEqual(r.headers.get("connection", "").lower(), "close", case)
            self.expect_close_without_answer(conn, case)
        record(case, f"treated as HTTP/0.9: answered as a normal GET (404 {r.json()['error']!r}), "
                     "closed; counted: none")
        self.health.check(case)

    def test_04_overlong_request_line(self):
        self.expect_error("request line over the limit (9000-byte URL)",
                          b"GET /kv/" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414,
                          "uri_too_long")

    def test_05_header_block_over_limit(self):
        self.expect_error("header block over the limit (one 20 KB header)",
                          b"GET /status HTTP/1.1\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n", 431,
                          "header_too_large")
        hdrs = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 300) for i in range(60))
        self.expect_error("header block over the limit (60 x 300 B)",
                          b"GET /status HTTP/1.1\r\n" + hdrs + b"\r\n", 431, "header_too_large")

    def test_06_header_count_over_limit(self):
        hdrs = b"".join(b"X-H%d: 1\r\n" % i for i in range(70))
        self.expect_error("header count over the limit (70 headers)",
                          b"GET /status HTTP/1.1\r\n" + hdrs + b"\r\n", 431, "too_many_headers")

    def test_07_huge_content_length(self):
        # The body is never sent: the answer must come at once.
        t0 = time.monotonic()
        self.expect_error("Content-Length 10 GB (body not sent)",
                          b"PUT /kv/huge HTTP/1.1\r\nContent-Length: 10737418240\r\n\r\n", 413,
                          "body_too_large",
                          timeout=3, note="at once, without the body")
        self.assertLess(time.monotonic() - t0, 3.0)
        self.assertEqual(self.c.get(0, b"huge").status, 404)

    def test_08_body_longer_than_declared(self):
        case = "body longer than declared (extra bytes = next request)"
        with self.counted(1, "malformed", case) as rej, RawConn(self.port(1)) as conn:
            conn.send(b"PUT /kv/longer HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcdefg\r\n\r\n")
            r1 = conn.read_response()
            self.assertIsNotNone(r1, case)
            self.assertEqual(r1.status, 200, f"{case}: {r1}")
            r2 = conn.read_response()
            self.assertIsNotNone(r2, case)
            self.assertEqual(r2.status, 400, f"{case}: {r2}")
            self.assertIn("error", r2.json())
            self.expect_close_without_answer(conn, case)
        self.assertEqual(self.c.get(2, b"longer").body, b"abc")
        record(case, f"200 for the declared 3 bytes, then 400 {r2.json()['error']!r}, closed; "
                     f"counted: {rej.label()}")
        self.health.check(case)

    def test_09_body_shorter_than_declared(self):
        case = "body shorter than declared, then client EOF"
        with self.counted(0, "malformed", case) as rej, RawConn(self.port(0)) as conn:
            conn.send(b"PUT /kv/shorter HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123456789")
            # The server waits for the rest (idle timeout 60 s mid-body): no answer yet.
            self.assertIsNone(conn.read_response(timeout=1.0), case)
            self.assertFalse(conn.eof, f"{case}: closed before the body was complete")
            conn.sock.shutdown(socket.SHUT_WR)
            r = conn.read_response(timeout=5)
            self.assertIsNotNone(r, case)
            self.assertEqual(r.status, 400, f"{case}: {r}")
            self.expect_close_without_answer(conn, case)
        self.assertEqual(self.c.get(0, b"shorter").status, 404)
        record(case, f"no answer while waiting; on EOF 400 {r.json()['error']!r}, closed; "
                     "not applied (mid-body 408 after the 60 s idle timeout not tested); "
                     f"counted: {rej.label()}")
        self.health.check(case)

    def test_10_bad_chunked(self):
        self.expect_error("bad chunked encoding (non-hex size)",
                          b"PUT /kv/ch HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n", 400,
                          "bad_chunked")
        self.expect_error("bad chunked encoding (size/data mismatch)",
                          b"PUT /kv/ch HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"2\r\nabcdef\r\n0\r\n\r\n", 400, "bad_chunked")
        self.expect_error("Content-Length with chunked (smuggling)",
                          b"PUT /kv/ch HTTP/1.1\r\nContent-Length: 5\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "malformed")
        self.expect_error("duplicate Content-Length",
                          b"PUT /kv/ch HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                          400, "malformed")
        big = b"%x\r\n" % (MAX_VALUE + 8192) + b"x" * (MAX_VALUE + 8192) + b"\r\n0\r\n\r\n"
        self.expect_error("chunked body over the limit",
                          b"PUT /kv/ch HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + big, 413,
                          "body_too_large")
        self.assertEqual(self.c.get(1, b"ch").status, 404)

    # ---- API-level validation ---------------------------------------------
    def test_11_invalid_percent_encoding(self):
        self.expect_error("invalid percent-encoding in key (/kv/%zz)",
                          b"GET /kv/%zz HTTP/1.1\r\n\r\n", 400, "bad_percent_encoding", closes=False)
        self.expect_error("invalid percent-encoding in query (/get?key=%G1)",
                          b"GET /get?key=%G1 HTTP/1.1\r\n\r\n", 400, "bad_percent_encoding",
                          closes=False)
        self.expect_error("truncated percent-encoding (PUT /kv/a%4)",
                          b"PUT /kv/a%4 HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", 400,
                          "bad_percent_encoding", closes=False)

    def test_12_empty_key(self):
        self.expect_error("empty key (PUT /kv/)",
                          b"PUT /kv/ HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", 400, "empty_key",
                          closes=False)
        self.expect_error("empty key (GET /get?key=)", b"GET /get?key= HTTP/1.1\r\n\r\n", 400,
                          "empty_key", closes=False)

    def test_13_key_over_limit(self):
        ok = self.c.put(1, b"k" * MAX_KEY, b"edge")
        self.assertEqual(ok.status, 200, ok)
        self.expect_error(f"key over the limit ({MAX_KEY + 1} B, --max-key-bytes {MAX_KEY})",
                          b"PUT /kv/" + b"k" * (MAX_KEY + 1) +
                          b" HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", 413, "key_too_large", closes=False,
                          note=f"{MAX_KEY} B accepted")
        self.assertEqual(self.c.get(2, b"k" * MAX_KEY).body, b"edge")

    def test_14_value_over_limit(self):
        ok = self.c.put(0, b"bigval", b"v" * MAX_VALUE)
        self.assertEqual(ok.status, 200, ok)
        self.expect_error(f"value over the limit ({MAX_VALUE + 1} B)",
                          b"PUT /kv/bigval2 HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (MAX_VALUE + 1)
                          + b"v" * (MAX_VALUE + 1), 413, "value_too_large", closes=False,
                          note=f"{MAX_VALUE} B accepted")
        self.assertEqual(self.c.get(1, b"bigval2").status, 404)
        self.assertEqual(self.c.get(2, b"bigval").body, b"v" * MAX_VALUE)

    def test_15_binary_round_trip(self):
        keys = [b"\x00", b"a\x00b", bytes(range(1, 256)), b"\xff\xfe/\x00?#&=+% ",
                b"\r\nHost: evil\r\n"]
        value = bytes(range(256)) * 4 + b"\x00\x00\r\n\r\n"
        with self.counted(0, "", "binary round trip"):
            self.binary_round_trip(keys, value)
        record("NUL and binary bytes in keys (percent-encoded) and values",
               f"200; {len(keys)} keys round-trip exactly via /kv, /get and stale reads; "
               "counted: none")
        self.health.check("binary round trip")

    def binary_round_trip(self, keys: list[bytes], value: bytes) -> None:
        for i, k in enumerate(keys):
            r = self.c.put(i % 3, k, value + k)
            self.assertEqual(r.status, 200, (k, r))
        for i, k in enumerate(keys):
            r = self.c.get((i + 1) % 3, k)
            self.assertEqual((r.status, r.body), (200, value + k), k)
            r = self.c.request((i + 2) % 3, "GET", "/get?key=" + harness.q(k))
            self.assertEqual((r.status, r.body), (200, value + k), k)
            r = self.c.get(i % 3, k, stale="true")
            self.assertEqual(r.status, 200, k)

    def test_16_duplicate_conflicting_params(self):
        self.expect_error("duplicated parameter (prev=a&prev=b)",
                          b"PUT /kv/dup?prev=a&prev=b HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", 400,
                          "duplicate_parameter", closes=False)
        self.expect_error("conflicting parameters (prev + prev_exists)",
                          b"PUT /kv/dup?prev=a&prev_exists=false HTTP/1.1\r\n"
                          b"Content-Length: 1\r\n\r\nx", 400, "conflicting_parameters", closes=False)
        self.expect_error("prev_exists=true (only false allowed)",
                          b"PUT /kv/dup?prev_exists=true HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
                          400, "invalid_parameter", closes=False)
        self.expect_error("duplicated parameter (stale=true&stale=false)",
                          b"GET /kv/dup?stale=true&stale=false HTTP/1.1\r\n\r\n", 400,
                          "duplicate_parameter", closes=False)
        self.expect_error("duplicated parameter (/get?key=a&key=b)",
                          b"GET /get?key=a&key=b HTTP/1.1\r\n\r\n", 400, "duplicate_parameter",
                          closes=False)
        self.assertEqual(self.c.get(0, b"dup").status, 404)

    def test_17_unknown_param_on_write(self):
        self.expect_error("unknown parameter on a write (PUT ?ttl=5)",
                          b"PUT /kv/unk?ttl=5 HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", 400,
                          "unknown_parameter", closes=False)
        self.expect_error("unknown parameter on a write (/set?...&foo=1)",
                          b"GET /set?key=unk&value=x&foo=1 HTTP/1.1\r\n\r\n", 400,
                          "unknown_parameter", closes=False)
        self.expect_error("unknown parameter on DELETE (?recursive=true)",
                          b"DELETE /kv/unk?recursive=true HTTP/1.1\r\n\r\n", 400,
                          "unknown_parameter", closes=False)
        self.assertEqual(self.c.get(1, b"unk").status, 404)

    # ---- connection-level attacks --------------------------------------------
    def test_18_connection_limit(self):
        case = "idle connections over --max-connections 20"
        limit = 20
        c2 = self.cluster(3, extra_args=["--max-connections", str(limit)])
        c2.wait_for_leader(timeout=15)
        port = c2.members[1].http_port
        held = []
        try:
            # Fill the limit with keep-alive connections, each proven accepted
            # by one answered request, then left idle.
            for _ in range(limit):
                conn = RawConn(port)
                held.append(conn)
                conn.send(b"GET /status HTTP/1.1\r\n\r\n")
                r = conn.read_response()
                self.assertIsNotNone(r, f"{case}: connection {len(held)} under the limit refused")
                self.assertEqual(r.status, 200)
            # Read through a held connection: the member refuses new ones.
            before = rejections(c2, 1, REJECTED, conn=held[0])
            refused = 0
            for _ in range(5):
                with RawConn(port) as extra:
                    extra.send(b"GET /status HTTP/1.1\r\n\r\n")
                    self.assertIsNone(extra.read_response(timeout=3), f"{case}: answered")
                    self.assertTrue(extra.eof, f"{case}: extra connection not closed")
                    refused += 1
            # The other members are unaffected.
            self.assertEqual(c2.request(0, "GET", "/status").status, 200)
            self.assertEqual(c2.put(2, b"during", b"flood").status, 200)
            # Held connections still work, and the member counted each refusal.
            held[0].send(b"GET /status HTTP/1.1\r\n\r\n")
            self.assertEqual(held[0].read_response().status, 200)
            delta = rejections_delta(before, rejections(c2, 1, REJECTED, conn=held[0]))
            self.assertEqual(delta, {"connection_limit": refused}, case)
        finally:
            for conn in held:
                conn.close()
        # Once the idle ones are gone the member answers again (bounded wait:
        # the server sees the FINs on its next loop turn).
        r = harness.wait_until(lambda: c2.try_request(1, "PUT", "/kv/after", b"ok"), 5,
                               "member 1 to accept connections again")
        self.assertEqual(r.status, 200)
        self.assertEqual(c2.get(1, b"after").body, b"ok")
        record(case, f"{limit} accepted; next {refused} accepted and closed at once "
                     "(no answer); other members unaffected; answers again once they close; "
                     f"counted: connection_limit +{refused}")
        self.health.check(case)

    def test_19_slowloris(self):
        case = "slowloris (headers trickled 1 byte / 0.5 s)"
        request = b"GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 100
        with self.counted(2, "header_timeout", case) as rej, \
                RawConn(self.port(2), timeout=HEADER_TIMEOUT_S + 5) as conn:
            t0 = time.monotonic()
            deadline = t0 + HEADER_TIMEOUT_S + 5
            answered = None
            for b in request:
                if time.monotonic() > deadline:
                    break
                if not conn.send(bytes([b])):
                    break
                r = conn.read_response(timeout=0.5)
                if r is not None or conn.eof:
                    answered = r
                    break
            elapsed = time.monotonic() - t0
            self.assertIsNotNone(answered, f"{case}: no 408 within {elapsed:.1f}s (eof={conn.eof})")
            self.assertEqual(answered.status, 408, f"{case}: {answered}")
            self.assertGreater(elapsed, HEADER_TIMEOUT_S - 1, case)
            self.assertLess(elapsed, HEADER_TIMEOUT_S + 3, case)
            self.expect_close_without_answer(conn, case)
        record(case, f"408 {answered.json()['error']!r} after {elapsed:.1f}s "
                     f"(header timeout 10 s, not extended by trickling), closed; counted: {rej.label()}")
        self.health.check(case)

    def test_20_client_never_reads(self):
        case = "client never reads its responses"
        m = 0
        pid = self.c.members[m].proc.pid
        self.assertEqual(self.c.put(m, b"bigval", b"v" * MAX_VALUE).status, 200)
        before = rejections(self.c, m, REJECTED)
        rss0 = rss_kib(pid)
        # Stale reads are answered at once, so answers pile up in the
        # server's output; padding makes the requests fill the socket buffers
        # too, so that our sends notice the server's reset.
        pad = b"X-Pad: " + b"p" * 2000 + b"\r\n"
        req = b"GET /kv/bigval?stale=true HTTP/1.1\r\n" + pad + b"\r\n"
        conn = RawConn(self.port(m), timeout=2, rcvbuf=16384)
        sent = 0
        closed = False
        peak = rss0
        deadline = time.monotonic() + 60
        max_requests = 20000  # 20000 x 64 KiB = 1.25 GiB of answers, far above the bound
        try:
            while time.monotonic() < deadline and not closed:
                peak = max(peak, rss_kib(pid))
                err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err != 0:
                    closed = True
                    break
                if sent >= max_requests:
                    # Everything is sent; the server is still working through
                    # it: wait (bounded) for its reset.
                    conn.sock.settimeout(0.2)
                    try:
                        conn.sock.sendall(req)
                    except (BrokenPipeError, ConnectionResetError):
                        closed = True
                    except socket.timeout:
                        pass
                    continue
                conn.sock.settimeout(0.5)
                try:
                    conn.sock.sendall(req * 8)
                    sent += 8
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                except socket.timeout:
                    pass  # buffers full: probe SO_ERROR and try again
        finally:
            conn.close()
        self.assertTrue(closed, f"{case}: not closed after {sent} requests")
        self.assertTrue(self.c.members[m].running(), case)
        self.assertIn("does not read", self.c.log_text(m), case)
        grew = peak - rss0
        self.assertLess(grew, 3 * (MAX_OUTPUT >> 10) + 65536, f"{case}: RSS grew {grew} KiB")
        delta = rejections_delta(before, rejections(self.c, m, REJECTED))
        self.assertEqual(delta, {"output_buffer_overflow": 1}, case)
        record(case, f"reset after {sent} pipelined 64 KiB GETs sent without reading "
                     f"(queued output over 16 MiB; WARN logged); RSS +{grew >> 10} MiB; "
                     "counted: output_buffer_overflow +1")
        self.health.check(case)

    def test_21_pipelined_in_order(self):
        case = "several hundred pipelined requests on one connection"
        n = 300
        lead = self.c.wait_for_leader()
        follower = (lead + 1) % 3
        reqs = []
        expect = []
        for i in range(n):
            k = f"pipe-{i % 50}"
            if i % 3 == 0:
                v = f"value-{i}".encode()
                reqs.append(b"PUT /kv/%s HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s" % (k.encode(), len(v), v))
                expect.append(("put", k, v))
            elif i % 3 == 1:
                reqs.append(b"GET /kv/%s HTTP/1.1\r\n\r\n" % k.encode())
                expect.append(("get", k, None))
            else:
                reqs.append(b"GET /status HTTP/1.1\r\n\r\n")
                expect.append(("status", k, None))
        with self.counted(follower, "", case), RawConn(self.port(follower), timeout=30) as conn:
            sender = threading.Thread(target=conn.send, args=(b"".join(reqs),), daemon=True)
            sender.start()
            state: dict = {}
            last_index = 0
            for i, (kind, k, v) in enumerate(expect):
                r = conn.read_response(timeout=15)
                self.assertIsNotNone(r, f"{case}: answer {i} missing")
                self.assertEqual(r.status, 200 if kind != "get" or k in state else 404,
                                 f"{case}: answer {i} ({kind} {k}): {r}")
                if kind == "put":
                    idx = r.json()["index"]
                    self.assertGreater(idx, last_index, f"{case}: answer {i} out of order")
                    last_index = idx
                    state[k] = v
                elif kind == "get" and k in state:
                    # Linearizable read after our own acknowledged write: in order.
                    self.assertEqual(r.body, state[k], f"{case}: answer {i} out of order")
                elif kind == "status":
                    self.assertIn("term", r.json())
            sender.join(timeout=10)
        record(case, f"{n} requests (PUT, GET, /status) on a follower: all 200/404, in order; "
                     "counted: none")
        self.health.check(case)


if __name__ == "__main__":
    harness.main()
