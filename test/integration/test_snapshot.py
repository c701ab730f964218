#!/usr/bin/env python3
"""Snapshots and log compaction end to end (issue 8).

A 3-member cluster snapshots every 1000 applied entries and keeps 500
trailing entries. With one follower stopped, 20,000 writes go to the leader;
the running members' logs and data dirs stay bounded; the stopped follower
comes back, is brought up to date by InstallSnapshot (the leader no longer
has the entries it lacks) and answers linearizable reads with the latest
values; POST /snapshot answers with the snapshot's index; raftkv-dump shows
the snapshot metadata; a restart of every member recovers from snapshot plus
log tail with every value intact.

A second test damages snapshot files of a single member: a bad newest
snapshot is reported and the previous one used; with none left, the member
exits 1 naming the file.
"""

import glob
import http.client
import json
import os
import random
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SNAPSHOT_ENTRIES = 1000
SNAPSHOT_TRAILING = 500
# Small segments, so that compaction, which deletes whole segments, shows
# on disk within 20k entries of ~100 bytes.
SEGMENT_BYTES = 64 * 1024
SNAPSHOT_FLAGS = ["--snapshot-entries", str(SNAPSHOT_ENTRIES),
                  "--snapshot-trailing", str(SNAPSHOT_TRAILING),
                  "--wal-segment-bytes", str(SEGMENT_BYTES)]
WRITES = 20_000
KEYS = 3_000
WRITER_THREADS = 16
SEED = 8  # issue 8: the values' padding and each thread's key order

SNAPSHOT_NAME = re.compile(r"^snapshot-(\d{20})-(\d{20})\.snap$")


# --------------------------------------------------------------------------
# Helpers that only this file needs


class KeepAliveClient:
    """One keep-alive HTTP connection to a member, reopened after an error."""

    def __init__(self, cluster, member: int, timeout: float = 10.0):
        self.cluster = cluster
        self.member = member
        self.timeout = timeout
        self.conn = None

    def request(self, method: str, path: str, body=None) -> tuple[int, bytes]:
        if self.conn is None:
            m = self.cluster.members[self.member]
            self.conn = http.client.HTTPConnection(m.host, m.http_port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=body)
            resp = self.conn.getresponse()
            return resp.status, resp.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def snapshot_files(data_dir: str) -> list[tuple[int, int, str]]:
    """(index, term, path) of every complete snapshot file, oldest first."""
    out = []
    for path in glob.glob(os.path.join(data_dir, "**", "snapshot-*.snap"), recursive=True):
        m = SNAPSHOT_NAME.match(os.path.basename(path))
        if m:
            out.append((int(m.group(1)), int(m.group(2)), path))
    return sorted(out)


def dir_bytes(data_dir: str, pattern: str = "*") -> int:
    return sum(os.path.getsize(p)
               for p in glob.glob(os.path.join(data_dir, "**", pattern), recursive=True)
               if os.path.isfile(p))


def find_dump() -> str:
    cands = [os.environ.get("RAFTKV_DUMP"),
             os.path.join(os.path.dirname(harness.binary()), "..", "tools", "dump",
                          "raftkv-dump")]
    for c in cands:
        if c and os.access(c, os.X_OK):
            return os.path.abspath(c)
    raise AssertionError(f"raftkv-dump not found (tried {cands}); set RAFTKV_DUMP")


# --------------------------------------------------------------------------


class Snapshots(harness.ClusterTestCase):
    # ---- the workload ---------------------------------------------------
    def write_concurrently(self, c, target: int, writes: int, keys: int, threads: int,
                           deadline_s: float = 120.0) -> dict[str, bytes]:
        """`writes` PUTs over `keys` keys from `threads` threads, each over a
        keep-alive connection to `target`. Each key belongs to one thread, so
        its writes are sequential and the last acknowledged value is its
        value. A write that is not answered 200 is retried with a fresh value
        (through the next live member after a connection error) until one is;
        returns {key: last acknowledged value}."""
        model: dict[str, bytes] = {}
        lock = threading.Lock()
        errors: list[str] = []
        retried = [0]
        stop_at = time.monotonic() + deadline_s

        def worker(t: int) -> None:
            rng = random.Random(f"{SEED}-writer-{t}")
            mine = [f"key-{k}" for k in range(t, keys, threads)]
            rng.shuffle(mine)
            client = KeepAliveClient(c, target)
            local = {}
            try:
                for j in range(t, writes, threads):
                    key = mine[(j // threads) % len(mine)]
                    attempt = 0
                    while True:
                        if time.monotonic() > stop_at:
                            errors.append(f"thread {t}: writes not done within {deadline_s}s")
                            return
                        value = f"{key}=w{j}.{attempt}-".encode() + b"x" * rng.randrange(40, 120)
                        try:
                            status, body = client.request("PUT", harness.kv_path(key), value)
                        except (OSError, http.client.HTTPException):
                            status, body = None, b""
                            live = c.live_ids()
                            client.member = live[(live.index(client.member) + 1) % len(live)] \
                                if client.member in live else live[0]
                        if status == 200:
                            local[key] = value
                            break
                        attempt += 1
                        with lock:
                            retried[0] += 1
                        if attempt > 50:
                            errors.append(f"thread {t}: PUT {key} failed 50 times; last: "
                                          f"{status} {body[:200]!r}")
                            return
                        time.sleep(0.02)
            finally:
                client.close()
                with lock:
                    model.update(local)

        t0 = time.monotonic()
        ths = [threading.Thread(target=worker, args=(t,), name=f"writer-{t}")
               for t in range(threads)]
        for th in ths:
            th.start()
        for th in ths:
            th.join(deadline_s + 30)
        elapsed = time.monotonic() - t0
        self.assertFalse([th.name for th in ths if th.is_alive()], "writer threads hung")
        self.assertFalse(errors, errors[:5])
        print(f"SNAPSHOT-TEST: {writes} writes over {len(model)} keys in {elapsed:.1f}s "
              f"({writes / elapsed:.0f}/s, {retried[0]} retried)")
        return model

    def read_all(self, c, member: int, model: dict[str, bytes], stale: bool,
                 threads: int = 8) -> list[str]:
        """Reads every key of the model from `member` (linearizable, or
        ?stale=true), over keep-alive connections; returns the mismatches."""
        keys = sorted(model)
        bad: list[str] = []
        lock = threading.Lock()

        def worker(t: int) -> None:
            client = KeepAliveClient(c, member)
            try:
                for key in keys[t::threads]:
                    path = harness.kv_path(key, stale="true") if stale else harness.kv_path(key)
                    for attempt in range(20):
                        try:
                            status, body = client.request("GET", path)
                        except (OSError, http.client.HTTPException) as e:
                            status, body = None, repr(e).encode()
                        if status in (200, 404):
                            break
                        time.sleep(0.05)  # 503/504 while the cluster settles
                    if (status, body) != (200, model[key]):
                        with lock:
                            bad.append(f"{key}: {status} {body[:80]!r}, expected "
                                       f"{model[key][:80]!r}")
            finally:
                client.close()

        ths = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
        for th in ths:
            th.start()
        for th in ths:
            th.join(120)
        self.assertFalse([th for th in ths if th.is_alive()], "reader threads hung")
        return bad

    # ---- assertions on one member --------------------------------------
    def assert_log_compacted(self, c, i: int) -> dict:
        """Waits (bounded) until member i has taken a snapshot and dropped
        the log before it; then asserts that its log holds no more than about
        SNAPSHOT_ENTRIES + SNAPSHOT_TRAILING entries and its data dir at most
        two snapshot files."""
        bound = 2 * (SNAPSHOT_ENTRIES + SNAPSHOT_TRAILING)

        def compacted():
            st = c.must_status(i)
            first, last = st.get("first_log_index", 0), st.get("last_log_index", 0)
            if st.get("snapshot_index", 0) > 0 and first > 1 and last - first + 1 <= bound:
                return st
            return None
        try:
            st = harness.wait_until(compacted, 30, f"member {i} to snapshot and compact its log "
                                                   f"to <= {bound} entries")
        except harness.Timeout as e:
            raise AssertionError(f"{e}; /status: {c.status(i)}") from None
        d = c.members[i].data_dir
        # A new snapshot file lands before the oldest is removed (crash
        # safety), so a third may exist for a moment while writes go on:
        # wait (bounded) for the pruning instead of reading the dir once.
        def pruned():
            snaps = snapshot_files(d)
            return snaps if 0 < len(snaps) <= 2 else None
        try:
            snaps = harness.wait_until(pruned, 5, f"member {i} to keep 1 or 2 snapshot files")
        except harness.Timeout:
            snaps = snapshot_files(d)  # the assertions below say what is wrong
        self.assertTrue(snaps, f"member {i}: /status snapshot_index {st['snapshot_index']} but "
                               f"no snapshot-*.snap file in {os.listdir(d)}")
        self.assertLessEqual(len(snaps), 2, f"member {i} keeps too many snapshots: "
                                            f"{[os.path.basename(s[2]) for s in snaps]}")
        self.assertLessEqual(st["snapshot_index"], st["applied_index"],
                             "snapshot of entries not yet applied")
        print(f"SNAPSHOT-TEST: member {i}: snapshot_index {st['snapshot_index']}, log "
              f"{st['first_log_index']}..{st['last_log_index']}, {len(snaps)} snapshot file(s), "
              f"{len(c.wal_files(i))} segment(s) {dir_bytes(d, '*.wal')} bytes, "
              f"data dir {dir_bytes(d)} bytes")
        return st

    def assert_segments_bounded(self, c, i: int) -> None:
        """With small segments, whole segments behind the snapshot are
        deleted: the segments on disk hold far fewer than WRITES entries."""
        def bounded():
            wal = c.wal_files(i)
            total = sum(harness.data_end(p) for p in wal)
            return (len(wal), total) if total <= 20 * SEGMENT_BYTES else None
        wal_bytes_written = c.metrics(i).get("raftkv_wal_bytes_written_total", 0)
        n, total = harness.wait_until(bounded, 30, f"member {i}'s segments to be deleted "
                                                   f"(<= {20 * SEGMENT_BYTES} bytes left)")
        self.assertLess(total, wal_bytes_written / 3,
                        f"member {i}: {total} bytes of segments on disk of "
                        f"{wal_bytes_written:.0f} written: compaction deleted too little")
        print(f"SNAPSHOT-TEST: member {i}: {n} segments, {total} bytes on disk of "
              f"{wal_bytes_written:.0f} written")

    # ---- the end-to-end test -------------------------------------------
    def test_compaction_install_snapshot_and_restart_from_snapshot(self):
        c = self.cluster(3, extra_args=SNAPSHOT_FLAGS)
        lead = c.wait_for_leader(timeout=10)
        stopped = c.followers(lead)[0]
        running = [i for i in range(3) if i != stopped]
        self.assertEqual(c.put(lead, "before-stop", b"1").status, 200)
        c.stop(stopped)

        # 1. 20k writes with one follower down: the running members compact.
        model = self.write_concurrently(c, lead, WRITES, KEYS, WRITER_THREADS)
        for i in running:
            self.assert_log_compacted(c, i)
            self.assert_segments_bounded(c, i)
        lead = c.wait_for_leader(timeout=10)
        lead_first = c.must_status(lead)["first_log_index"]
        self.assertGreater(lead_first, 2, "the leader still has the stopped follower's "
                                          "next entry: InstallSnapshot would not be needed")

        # 2. The stopped follower needs entries the leader compacted: it
        # must be brought up to date by InstallSnapshot.
        c.start_member(stopped)
        c.wait_serving([stopped], timeout=15)
        target = c.must_status(lead)["commit_index"]
        t0 = time.monotonic()

        def caught_up():
            st = c.must_status(stopped)
            return st if st.get("applied_index", 0) >= target else None
        try:
            st = harness.wait_until(caught_up, 60, f"member {stopped} to apply up to {target}")
        except harness.Timeout as e:
            raise AssertionError(f"{e}; its /status: {c.status(stopped)}; leader's: "
                                 f"{c.status(lead)}") from None
        print(f"SNAPSHOT-TEST: member {stopped} caught up to {target} in "
              f"{time.monotonic() - t0:.2f}s: {st}")
        self.assertGreaterEqual(st.get("snapshot_index", 0), lead_first - 1,
                                f"member {stopped} caught up without a snapshot covering the "
                                f"leader's compacted entries (leader's first log index "
                                f"{lead_first}): {st}")
        self.assertGreater(st.get("first_log_index", 0), 1, st)
        installs = c.metrics(stopped).get("raftkv_snapshot_installs_total", 0)
        self.assertGreater(installs, 0, f"member {stopped}'s /metrics count no installed "
                                        f"snapshot; snapshot lines: "
                                        + str({k: v for k, v in c.metrics(stopped).items()
                                               if 'snapshot' in k}))
        self.assertTrue(snapshot_files(c.members[stopped].data_dir),
                        f"member {stopped} installed a snapshot but has no snapshot file")

        # 3. Linearizable reads from it return the latest value of every key.
        bad = self.read_all(c, stopped, model, stale=False)
        self.assertFalse(bad, f"{len(bad)} keys read wrong from member {stopped} after "
                              f"InstallSnapshot; first: {bad[:5]}")
        self.assertEqual(c.get(stopped, "before-stop").body, b"1")

        # 4. POST /snapshot: 200 with the index and term of a durable snapshot.
        lead = c.wait_for_leader(timeout=10)
        self.assertEqual(c.put(lead, "after-catch-up", b"2").status, 200)
        applied = c.must_status(lead)["applied_index"]
        r = c.request(lead, "POST", "/snapshot", timeout=30)
        self.assertEqual(r.status, 200, r)
        snap = r.json()
        print(f"SNAPSHOT-TEST: POST /snapshot on member {lead} after applied index {applied}: "
              f"{snap} in {r.elapsed:.3f}s")
        self.assertIsInstance(snap.get("index"), int, snap)
        self.assertIsInstance(snap.get("term"), int, snap)
        self.assertGreaterEqual(snap["index"], applied, f"POST /snapshot after applied index "
                                                        f"{applied} answered {snap}")
        on_disk = [(ix, tm) for ix, tm, _ in snapshot_files(c.members[lead].data_dir)]
        self.assertIn((snap["index"], snap["term"]), on_disk,
                      "POST /snapshot answered 200 before its file was in the data dir")
        self.assertGreaterEqual(c.must_status(lead)["snapshot_index"], snap["index"])

        # 5. raftkv-dump of a stopped member shows the snapshot metadata.
        commit = max(c.must_status(i)["commit_index"] for i in range(3))
        harness.wait_until(lambda: all(c.must_status(i)["applied_index"] >= commit
                                       for i in range(3)), 20, "every member to apply "
                                                               f"up to {commit}")
        for i in range(3):
            c.stop(i)
        for i in range(3):
            self.check_dump(c, i)

        # 6. Every member restarts from its snapshot plus the log tail.
        for i in range(3):
            c.start_member(i)
        c.wait_serving(timeout=15)
        for i in range(3):
            st = c.must_status(i)
            self.assertGreater(st.get("snapshot_index", 0), 0,
                               f"member {i} restarted without its snapshot: {st}")
        c.wait_for_leader(timeout=15)
        for i in range(3):
            harness.wait_until(lambda i=i: c.must_status(i)["applied_index"] >= commit, 30,
                               f"member {i} to apply up to the commit index {commit} of "
                               f"before the restart")
        model["after-catch-up"] = b"2"
        for i in range(3):
            bad = self.read_all(c, i, model, stale=True)
            self.assertFalse(bad, f"{len(bad)} keys wrong on member {i} after restarting from "
                                  f"a snapshot; first: {bad[:5]}")
        bad = self.read_all(c, c.wait_for_leader(timeout=10), model, stale=False)
        self.assertFalse(bad, f"linearizable reads after the restart: {bad[:5]}")

    def check_dump(self, c, i: int) -> None:
        """raftkv-dump of member i's (stopped) data dir exits 0 and shows the
        newest snapshot file's metadata, in text and in --json."""
        d = c.members[i].data_dir
        snaps = snapshot_files(d)
        self.assertTrue(snaps, f"member {i} has no snapshot file")
        index, term, path = snaps[-1]
        dump = find_dump()
        r = harness.run([dump, d, "--json"], timeout=60)
        self.assertEqual(r.returncode, 0, f"raftkv-dump --json of member {i}: {r.stderr[-500:]}")
        objs = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        metas = [o for o in objs if o.get("type") == "snapshot"]
        self.assertTrue(metas, f"no \"type\":\"snapshot\" line in raftkv-dump --json of member {i}")
        found = [o for o in metas if o.get("index") == index and o.get("term") == term]
        self.assertTrue(found, f"raftkv-dump --json of member {i} does not show the newest "
                               f"snapshot {os.path.basename(path)} (index {index}, term "
                               f"{term}): {metas}")
        text = harness.run([dump, d], timeout=60)
        self.assertEqual(text.returncode, 0, text.stderr[-500:])
        snap_lines = [l for l in text.stdout.splitlines() if "snapshot" in l.lower()]
        self.assertTrue(any(str(index) in l for l in snap_lines),
                        f"raftkv-dump of member {i} prints no snapshot line with index {index}: "
                        f"{snap_lines[:5]}")
        entries = [o["index"] for o in objs if o.get("type") == "entry"]
        if entries:
            self.assertLessEqual(min(entries), index + 1, "the log tail does not continue the "
                                                          "snapshot")
            self.assertLess(len(entries), WRITES // 2,
                            f"member {i}'s data dir still holds {len(entries)} entries")
        shown = {k: v for k, v in found[0].items() if k != "members"}
        print(f"SNAPSHOT-TEST: raftkv-dump member {i}: newest {shown}; {len(entries)} entries "
              f"on disk")

    # ---- damaged snapshot files -----------------------------------------
    def test_damaged_snapshot_falls_back_then_refuses(self):
        # 4 KiB segments: compaction deletes the log's start, so "the log
        # alone" is no fallback. 250 trailing entries > the 100 between
        # snapshots: the log still continues the previous snapshot.
        c = self.cluster(1, extra_args=["--snapshot-entries", "100", "--snapshot-trailing", "250",
                                        "--wal-segment-bytes", "4096"])
        c.wait_for_leader(timeout=10)
        model = {}
        for k in range(600):
            key, value = f"d{k % 120}", f"v{k}-".encode() + b"y" * 50
            self.assertEqual(c.put(0, key, value).status, 200)
            model[key] = value
        d = c.members[0].data_dir
        harness.wait_until(lambda: len(snapshot_files(d)) >= 2
                           and c.must_status(0)["first_log_index"] > 1, 20,
                           "two snapshot files and a compacted log")
        c.stop(0)
        self.assertNotEqual(os.path.basename(c.wal_files(0)[0]), "00000000000000000001.wal",
                            "compaction deleted no segment")
        snaps = snapshot_files(d)
        newest = snaps[-1][2]
        # A byte in the body (after the header): caught by the body checksum.
        harness.flip_byte(newest, os.path.getsize(newest) - 5)
        c.start_member(0)
        c.wait_for_leader(timeout=15)
        log = c.log_text(0)
        self.assertIn(os.path.basename(newest), log.split("=== harness: start #2")[-1],
                      "the damaged snapshot is not reported")
        for key, value in model.items():
            r = c.get(0, key)
            self.assertEqual((r.status, r.body), (200, value), f"{key} after falling back to "
                                                               f"the previous snapshot")
        # With every snapshot damaged: exit 1 naming one. (Flipping the
        # newest's byte again would repair it.)
        c.stop(0)
        for _ix, _tm, path in snapshot_files(d):
            if path != newest:
                harness.flip_byte(path, os.path.getsize(path) - 5)
        c.start_member(0)
        rc = c.wait_exit(0, timeout=15)
        lines = [l for l in c.log_tail(0, 10).splitlines()
                 if l.strip() and not l.startswith("=== harness")]
        self.assertEqual(rc, 1, f"exit status with every snapshot damaged; log: {lines}")
        self.assertRegex(lines[-1], r"snapshot-\d{20}-\d{20}\.snap",
                         "the last stderr line does not name the damaged snapshot")


if __name__ == "__main__":
    harness.main()
