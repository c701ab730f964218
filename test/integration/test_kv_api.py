#!/usr/bin/env python3
"""The key-value API through every member: PUT/GET/DELETE, CAS, create,
stale reads, binary values, encoded keys, size limits at the boundary."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import kv_path  # noqa: E402


class KvApi(harness.SharedClusterTestCase):
    def key(self, suffix=""):
        return f"{self._testMethodName}{suffix}"

    def assertValueEverywhere(self, key, value):
        for i in range(3):
            r = self.c.get(i, key)
            self.assertEqual((r.status, r.body), (200, value),
                             f"linearizable GET {key!r} from member {i}: {r}")

    def assertAbsentEverywhere(self, key):
        for i in range(3):
            r = self.c.get(i, key)
            self.assertEqual(r.status, 404, f"GET {key!r} from member {i}: {r}")

    def test_put_through_leader_then_get_everywhere(self):
        k = self.key()
        r = self.c.put(self.lead, k, b"from-leader")
        self.assertEqual(r.status, 200, r)
        self.assertValueEverywhere(k, b"from-leader")

    def test_put_through_each_follower(self):
        for f in self.fol:
            k = self.key(f"-{f}")
            r = self.c.put(f, k, f"via-{f}".encode())
            self.assertEqual(r.status, 200, f"PUT through follower {f}: {r}")
            # Read-your-write right away, through every member.
            self.assertValueEverywhere(k, f"via-{f}".encode())

    def test_overwrite_through_different_members(self):
        k = self.key()
        for n, i in enumerate([self.lead] + self.fol + [self.lead]):
            v = f"v{n}".encode()
            self.assertEqual(self.c.put(i, k, v).status, 200)
            self.assertValueEverywhere(k, v)

    def test_delete(self):
        k = self.key()
        self.assertEqual(self.c.put(self.fol[0], k, b"x").status, 200)
        r = self.c.delete(self.fol[1], k)
        self.assertEqual(r.status, 200, r)
        self.assertAbsentEverywhere(k)
        r = self.c.delete(self.lead, k)
        self.assertEqual(r.status, 404, f"DELETE of an absent key: {r}")
        # A deleted key can be written again.
        self.assertEqual(self.c.put(self.lead, k, b"again").status, 200)
        self.assertValueEverywhere(k, b"again")

    def test_absent_key_is_404(self):
        self.assertAbsentEverywhere(self.key("-never-written"))
        for i in range(3):
            r = self.c.get(i, self.key("-never-written"), stale="true")
            self.assertEqual(r.status, 404, r)

    def test_compare_and_set(self):
        k = self.key()
        self.assertEqual(self.c.put(self.lead, k, b"one").status, 200)
        r = self.c.put(self.fol[0], k, b"two", prev="one")
        self.assertEqual(r.status, 200, f"CAS one->two: {r}")
        self.assertValueEverywhere(k, b"two")
        r = self.c.put(self.fol[1], k, b"three", prev="one")
        self.assertEqual(r.status, 412, f"CAS with a stale prev: {r}")
        self.assertValueEverywhere(k, b"two")
        r = self.c.put(self.lead, self.key("-absent"), b"x", prev="one")
        self.assertEqual(r.status, 412, f"CAS on an absent key: {r}")
        self.assertAbsentEverywhere(self.key("-absent"))
        # prev with characters that need encoding, and binary.
        odd = "a b&c=d/é"
        self.assertEqual(self.c.put(self.lead, k, odd.encode()).status, 200)
        r = self.c.put(self.fol[0], k, b"\x00\xff", prev=odd)
        self.assertEqual(r.status, 200, f"CAS with an encoded prev: {r}")
        r = self.c.put(self.fol[1], k, b"z", prev=b"\x00\xff")
        self.assertEqual(r.status, 200, f"CAS with a binary prev: {r}")
        self.assertValueEverywhere(k, b"z")

    def test_create_only(self):
        k = self.key()
        r = self.c.put(self.fol[0], k, b"first", prev_exists="false")
        self.assertEqual(r.status, 200, f"create of an absent key: {r}")
        r = self.c.put(self.fol[1], k, b"second", prev_exists="false")
        self.assertEqual(r.status, 412, f"create of an existing key: {r}")
        self.assertValueEverywhere(k, b"first")
        self.assertEqual(self.c.delete(self.lead, k).status, 200)
        r = self.c.put(self.lead, k, b"third", prev_exists="false")
        self.assertEqual(r.status, 200, f"create after delete: {r}")
        self.assertValueEverywhere(k, b"third")

    def test_stale_reads_eventually_see_the_value(self):
        k = self.key()
        self.assertEqual(self.c.put(self.lead, k, b"fresh").status, 200)
        for i in range(3):
            def sees(i=i):
                r = self.c.get(i, k, stale="true")
                return r.status == 200 and r.body == b"fresh"
            harness.wait_until(sees, 5, f"member {i}'s stale read to see the write")
        # The leader applied it before answering: its stale read is current.
        r = self.c.get(self.lead, k, stale="true")
        self.assertEqual((r.status, r.body), (200, b"fresh"))

    def test_binary_values_round_trip(self):
        values = [bytes(range(256)), b"\x00", b"a\x00b", b"\x00" * 1000, b"\r\n\r\nHTTP/1.1 200",
                  "ünïcødé ✓".encode(), os.urandom(64 * 1024)]
        for n, v in enumerate(values):
            k = self.key(f"-{n}")
            r = self.c.put(self.fol[n % 2], k, v)
            self.assertEqual(r.status, 200, r)
            for i in range(3):
                got = self.c.get(i, k)
                self.assertEqual(got.status, 200)
                self.assertEqual(got.body, v, f"value {n} differs when read from member {i}")

    def test_empty_value(self):
        k = self.key()
        r = self.c.put(self.lead, k, b"")
        self.assertIn(r.status, (200, 400), r)
        if r.status == 200:
            self.assertValueEverywhere(k, b"")

    def test_url_encoded_keys(self):
        keys = ["a/b", "with space", "q?x=1&y=2", "per%cent", "ключ", "#frag", "+plus", "..",
                "a\x00b", "\xff"]
        for n, key in enumerate(keys):
            v = f"value-{n}".encode()
            r = self.c.put(self.fol[n % 2], key, v)
            self.assertEqual(r.status, 200, f"PUT key {key!r}: {r}")
            self.assertValueEverywhere(key, v)
        # Distinct keys stayed distinct (no decoding collisions).
        for n, key in enumerate(keys):
            self.assertEqual(self.c.get(self.lead, key).body, f"value-{n}".encode(), key)
        # Binary (non-UTF-8) key bytes.
        bk = b"\x01\x80\xfe"
        r = self.c.request(self.lead, "PUT", kv_path(bk), b"bin")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.c.request(self.fol[0], "GET", kv_path(bk)).body, b"bin")

    def test_limits_at_the_boundary(self):
        k = "K" * 1024
        r = self.c.put(self.fol[0], k, b"max key")
        self.assertEqual(r.status, 200, f"a 1024-byte key: {r}")
        self.assertValueEverywhere(k, b"max key")
        v = os.urandom(1 << 20)
        r = self.c.put(self.fol[1], self.key(), v, timeout=15)
        self.assertEqual(r.status, 200, f"a 1 MiB value: {r}")
        for i in range(3):
            got = self.c.get(i, self.key(), timeout=15)
            self.assertEqual(got.status, 200)
            self.assertTrue(got.body == v, f"1 MiB value differs on member {i} "
                                           f"({len(got.body)} bytes)")

    def test_writes_return_index(self):
        # docs/http-api.md: 200 {"index": N}; N grows.
        r1 = self.c.put(self.lead, self.key(), b"1")
        r2 = self.c.put(self.fol[0], self.key(), b"2")
        self.assertEqual((r1.status, r2.status), (200, 200))
        i1, i2 = r1.json()["index"], r2.json()["index"]
        self.assertGreater(i2, i1)


if __name__ == "__main__":
    harness.main()
