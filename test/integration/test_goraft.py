#!/usr/bin/env python3
"""goraft compatibility: /set and /get, and the goraft cluster form."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import q  # noqa: E402


class GoraftEndpoints(harness.ClusterTestCase):
    @classmethod
    def setUpClass(cls):
        # Addresses in the ":port" form (no host) in the spec.
        cls.c = cls.class_cluster(3, spec_host="")
        cls.c.wait_for_leader(timeout=10)

    def setUp(self):
        self.lead = self.c.wait_for_leader(timeout=10)
        self.fol = self.c.followers(self.lead)

    def set(self, i, key, value):
        return self.c.request(i, "GET", f"/set?key={q(key)}&value={q(value)}")

    def get(self, i, key, relaxed=False):
        return self.c.request(i, "GET", f"/get?key={q(key)}" + ("&relaxed=true" if relaxed else ""))

    def test_set_then_get_everywhere(self):
        for n, i in enumerate([self.lead] + self.fol):
            k, v = f"gk{n}", f"gv{n}"
            r = self.set(i, k, v)
            self.assertEqual(r.status, 200, f"/set through member {i}: {r}")
            for j in range(3):
                r = self.get(j, k)
                self.assertEqual((r.status, r.body), (200, v.encode()), f"/get from {j}")
                r = self.c.get(j, k)
                self.assertEqual((r.status, r.body), (200, v.encode()),
                                 f"GET /kv from {j} after /set")

    def test_relaxed_get_eventually_sees(self):
        self.assertEqual(self.set(self.fol[0], "relaxed", "yes").status, 200)
        for j in range(3):
            harness.wait_until(lambda j=j: self.get(j, "relaxed", relaxed=True).body == b"yes", 5,
                               f"relaxed /get on member {j}")

    def test_get_absent_is_404(self):
        for j in range(3):
            self.assertEqual(self.get(j, "goraft-absent").status, 404)
            self.assertEqual(self.get(j, "goraft-absent", relaxed=True).status, 404)

    def test_encoded_key_and_value_shared_with_kv(self):
        k, v = "a b/c?d", "x&y=z ✓"
        self.assertEqual(self.set(self.fol[1], k, v).status, 200)
        r = self.c.get(self.lead, k)
        self.assertEqual((r.status, r.body), (200, v.encode()))
        self.assertEqual(self.c.put(self.lead, k, b"from-kv").status, 200)
        self.assertEqual(self.get(self.fol[0], k).body, b"from-kv")

    def test_missing_key_parameter_is_400(self):
        for path in ("/set?value=1", "/get", "/set?key=&value=1"):
            r = self.c.request(self.lead, "GET", path)
            self.assertEqual(r.status, 400, f"{path}: {r}")


class GoraftClusterForm(harness.ClusterTestCase):
    """`--cluster 0,:P0;1,:P1;2,:P2` with no HTTP addresses: HTTP on 2020+ID."""

    def test_goraft_form(self):
        busy = [p for p in (2020, 2021, 2022) if not harness.port_is_free(p)]
        if busy:
            msg = f"ports {busy} are in use on this machine; goraft-form case not run"
            print(f"SKIP: {msg}")
            self.skipTest(msg)
        c = harness.Cluster(3, name="goraft-form", spec_host="", http_in_spec=False, start=False)
        self.__dict__.setdefault("_clusters", []).append(c)
        self.addCleanup(c.cleanup)
        for m in c.members:
            m.http_port = 2020 + m.id
        # No --http flag either: the command line is exactly goraft's.
        c.command = lambda i, extra=None: ([harness.binary(), "--node", str(i), "--cluster",
                                            c.spec(), "--data-dir", c.members[i].data_dir]
                                           + c.args + list(extra or []))
        for i in range(3):
            c.start_member(i)
        c.wait_serving(timeout=10)
        self.assertIn(",:", c.spec())
        self.assertNotIn("2020", c.spec())
        lead = c.wait_for_leader(timeout=10)
        r = c.request((lead + 1) % 3, "GET", "/set?key=hello&value=world")
        self.assertEqual(r.status, 200, r)
        for i in range(3):
            r = c.request(i, "GET", "/get?key=hello")
            self.assertEqual((r.status, r.body), (200, b"world"), f"member {i} (port {2020 + i})")
        c.stop_all()


if __name__ == "__main__":
    harness.main()
