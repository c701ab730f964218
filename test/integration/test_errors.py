#!/usr/bin/env python3
"""Error answers: 400, 404, 405, 413, 431, with JSON bodies carrying
"error" (and "leader" where known)."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import kv_path  # noqa: E402


class Errors(harness.SharedClusterTestCase):
    def assertError(self, r, status, what):
        self.assertEqual(r.status, status, f"{what}: {r}")
        ctype = r.headers.get("content-type", "")
        self.assertTrue(ctype.startswith("application/json"),
                        f"{what}: error Content-Type is {ctype!r}")
        try:
            body = json.loads(r.body)
        except ValueError:
            self.fail(f"{what}: error body is not JSON: {r.body[:200]!r}")
        self.assertIsInstance(body, dict, what)
        self.assertIsInstance(body.get("error"), str, f"{what}: no \"error\" string: {body}")
        self.assertTrue(body["error"], f"{what}: empty error")
        return body

    def test_400_malformed(self):
        c = self.c
        cases = [
            ("PUT", "/kv/", b"v", "empty key"),
            ("GET", "/kv/", None, "empty key (GET)"),
            ("PUT", "/kv/%zz", b"v", "bad percent-encoding in the path"),
            ("GET", "/kv/a%2", None, "truncated percent-encoding"),
            ("PUT", kv_path("k", prev_exists="maybe"), b"v", "prev_exists other than false"),
            ("PUT", kv_path("k", prev_exists="true"), b"v", "prev_exists=true"),
            ("PUT", kv_path("k", prev="a", prev_exists="false"), b"v", "prev with prev_exists"),
            ("PUT", kv_path("k", frobnicate="1"), b"v", "unknown parameter"),
            ("PUT", "/kv/k?prev=a&prev=b", b"v", "repeated parameter"),
            ("GET", kv_path("k", stale="maybe"), None, "stale=maybe"),
            ("GET", "/set?value=1", None, "/set without key"),
            ("GET", "/set?key=k", None, "/set without value"),
            ("GET", "/get", None, "/get without key"),
        ]
        for i in (self.lead, self.fol[0]):
            for method, path, body, what in cases:
                with self.subTest(member=i, case=what):
                    self.assertError(c.request(i, method, path, body), 400, f"{what} on {i}")
        # Nothing was written by any of these.
        self.assertEqual(c.get(self.lead, "k").status, 404)

    def test_400_garbage_request(self):
        resp = harness.raw_request(self.c.members[self.lead].http_port,
                                   b"THIS IS NOT HTTP\r\n\r\n", timeout=5)
        status_line = resp.split(b"\r\n", 1)[0]
        self.assertRegex(status_line, rb"^HTTP/1\.[01] 400 ", f"answer to garbage: {resp[:200]!r}")
        # The member is still fine.
        self.assertIsNotNone(self.c.status(self.lead))

    def test_404_unknown_path(self):
        for path in ("/", "/nope", "/kvx/a", "/status/extra"):
            with self.subTest(path=path):
                self.assertError(self.c.request(self.fol[0], "GET", path), 404, path)

    def test_405_wrong_method(self):
        cases = [("POST", "/kv/k"), ("PATCH", "/kv/k"), ("PUT", "/status"), ("DELETE", "/status"),
                 ("POST", "/set?key=a&value=b"), ("PUT", "/get?key=a")]
        for method, path in cases:
            with self.subTest(case=(method, path)):
                r = self.c.request(self.fol[1], method, path, b"" if method != "DELETE" else None)
                self.assertError(r, 405, f"{method} {path}")

    def test_405_has_allow_header(self):
        # RFC 9110 15.5.6: a 405 MUST carry Allow.
        r = self.c.request(self.lead, "POST", "/kv/k", b"x")
        self.assertEqual(r.status, 405)
        self.assertIn("allow", r.headers, f"405 without Allow: {r.headers}")
        self.assertIn("PUT", r.headers["allow"])

    def test_413_key_and_value_over_default_limits(self):
        r = self.c.put(self.fol[0], "K" * 1025, b"v")
        self.assertError(r, 413, "1025-byte key")
        r = self.c.get(self.fol[0], "K" * 1025)
        self.assertIn(r.status, (404, 413), f"GET of a 1025-byte key: {r}")
        r = self.c.put(self.fol[0], "big", b"x" * ((1 << 20) + 1), timeout=15)
        self.assertError(r, 413, "1 MiB + 1 value")
        self.assertEqual(self.c.get(self.lead, "big").status, 404)

    def test_413_custom_limits(self):
        c = self.cluster(1, extra_args=["--max-key-bytes", "16", "--max-value-bytes", "100"])
        c.wait_for_leader(timeout=10)
        self.assertEqual(c.put(0, "k" * 16, b"v" * 100).status, 200)
        self.assertError(c.put(0, "k" * 17, b"v"), 413, "17-byte key with --max-key-bytes 16")
        self.assertError(c.put(0, "k", b"v" * 101), 413, "101-byte value, --max-value-bytes 100")
        self.assertError(c.request(0, "GET", "/set?key=k&value=" + "v" * 101), 413,
                         "/set with a 101-byte value")
        self.assertError(c.put(0, "k" * 16, b"v" * 101, prev="v" * 100), 413, "CAS, value too big")

    def test_431_headers_too_large(self):
        r = self.c.request(self.lead, "GET", "/status", headers={"X-Big": "a" * (256 * 1024)})
        self.assertEqual(r.status, 431, r)

    def test_error_names_leader(self):
        # 412 from a follower: the leader is known, so the error names it.
        self.assertEqual(self.c.put(self.lead, "lead-known", b"1").status, 200)
        r = self.c.put(self.fol[0], "lead-known", b"2", prev_exists="false")
        body = self.assertError(r, 412, "create of an existing key")
        self.assertEqual(body.get("leader"), self.lead, body)


if __name__ == "__main__":
    harness.main()
