"""Multi-process test harness for raftkvd (Python 3.11 standard library only).

A Cluster starts N raftkvd processes on free 127.0.0.1 ports, each with its
own data directory under a temporary directory and its stderr captured to a
log file, and offers the operations the integration tests need: requests,
leader discovery, kill -9, SIGTERM, SIGSTOP/SIGCONT, restart, and helpers to
damage data-directory files.

Rules this module enforces:
  * every process it starts is killed on cleanup, which runs from the
    context manager / unittest cleanups, from atexit, and from SIGTERM/SIGINT
    handlers; children also get PR_SET_PDEATHSIG=SIGKILL so they die even if
    the test runner is killed with -9;
  * every wait is a condition polled until a bounded deadline (wait_until);
  * on a test failure the tail of each member's log is printed.

The daemon binary comes from the RAFTKVD environment variable (meson sets it)
or from a --raftkvd PATH argument to the test script.
"""

from __future__ import annotations

import atexit
import ctypes
import errno
import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

# --------------------------------------------------------------------------
# Binary discovery

RAFTKVD: Optional[str] = None

# Tuning used by default in tests: fast elections keep the suite short.
FAST_FLAGS = ["--election-timeout", "300", "--heartbeat-interval", "30"]


def _repo_root() -> str:
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def find_raftkvd(argv: list[str]) -> tuple[Optional[str], list[str]]:
    """Returns (binary path or None, argv without --raftkvd PATH)."""
    rest = []
    path = os.environ.get("RAFTKVD") or None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--raftkvd" and i + 1 < len(argv):
            path = argv[i + 1]
            i += 2
            continue
        if a.startswith("--raftkvd="):
            path = a.split("=", 1)[1]
            i += 1
            continue
        rest.append(a)
        i += 1
    if path is None:
        candidates = sorted(glob.glob(os.path.join(_repo_root(), "build*", "daemon", "raftkvd")),
                            key=os.path.getmtime, reverse=True)
        path = candidates[0] if candidates else None
    return path, rest


def binary() -> str:
    if RAFTKVD is None:
        raise unittest.SkipTest("raftkvd binary not found (set RAFTKVD or pass --raftkvd PATH)")
    return RAFTKVD


# --------------------------------------------------------------------------
# Process registry and cleanup

_PR_SET_PDEATHSIG = 1
try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover
    _libc = None


def _child_setup() -> None:
    # Runs in the child between fork and exec: die with the parent thread.
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


_registry_lock = threading.Lock()
_live_procs: set[subprocess.Popen] = set()
_live_clusters: list["Cluster"] = []
_handlers_installed = False


def _register(proc: subprocess.Popen) -> None:
    with _registry_lock:
        _live_procs.add(proc)


def _unregister(proc: subprocess.Popen) -> None:
    with _registry_lock:
        _live_procs.discard(proc)


def kill_proc(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGKILLs proc (continuing it first if stopped) and reaps it."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:  # pragma: no cover - kernel trouble
            print(f"harness: pid {proc.pid} survived SIGKILL for {timeout}s", file=sys.stderr)
    _unregister(proc)


def cleanup_all() -> None:
    """Kills every process and removes every temp dir this module created."""
    with _registry_lock:
        clusters = list(_live_clusters)
    for c in clusters:
        try:
            c.cleanup()
        except Exception as e:  # noqa: BLE001 - cleanup must go on
            print(f"harness: cleanup error: {e!r}", file=sys.stderr)
    with _registry_lock:
        procs = list(_live_procs)
    for p in procs:
        kill_proc(p)


def _signal_handler(signum, _frame):
    cleanup_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(cleanup_all)
    if threading.current_thread() is threading.main_thread():
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, _signal_handler)


def spawn(args: list[str], stdout=None, stderr=None, env=None) -> subprocess.Popen:
    """Starts a tracked process (killed on cleanup, dies with the runner).

    Must be called from the thread that stays alive for the process's life
    (PDEATHSIG fires when the *thread* that forked exits): call it from the
    main thread."""
    _install_handlers()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env,
                            preexec_fn=_child_setup, start_new_session=True)
    _register(proc)
    return proc


@dataclass
class RunResult:
    returncode: int
    stdout: str
    stderr: str
    elapsed: float

    def stderr_lines(self) -> list[str]:
        return [l for l in self.stderr.splitlines() if l.strip()]


def run(args: list[str], timeout: float = 10.0) -> RunResult:
    """Runs raftkvd (or anything) to completion with a bound; kills it and
    raises AssertionError if it is still running after `timeout`."""
    t0 = time.monotonic()
    proc = spawn(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_proc(proc)
        out, err = proc.communicate()
        raise AssertionError(f"{args!r} still running after {timeout}s; stderr:\n"
                             f"{err.decode(errors='replace')[-2000:]}")
    _unregister(proc)
    return RunResult(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"),
                     time.monotonic() - t0)


# --------------------------------------------------------------------------
# Polling

class Timeout(AssertionError):
    pass


def wait_until(cond: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    """Polls cond() until it returns a truthy value, which is returned.
    Raises Timeout naming `what` after `timeout` seconds. Exceptions from
    cond() count as "not yet" (the last one is reported)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    polls = 0
    while True:
        polls += 1
        try:
            v = cond()
            if v:
                return v
        except (OSError, http.client.HTTPException, ValueError) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            raise Timeout(f"timed out after {timeout}s ({polls} polls) waiting for {what}{extra}")
        time.sleep(interval)


# --------------------------------------------------------------------------
# Ports

def free_ports(n: int) -> list[int]:
    """Returns n distinct free TCP ports on 127.0.0.1 (all bound at once,
    then released, so they are distinct)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_is_free(port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


# --------------------------------------------------------------------------
# HTTP

@dataclass
class Response:
    status: int
    headers: dict
    body: bytes
    elapsed: float

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        b = self.body if len(self.body) <= 200 else self.body[:200] + b"..."
        return f"<HTTP {self.status} {b!r} in {self.elapsed * 1000:.0f}ms>"


def http_request(port: int, method: str, path: str, body: Optional[bytes] = None,
                 timeout: float = 5.0, headers: Optional[dict] = None,
                 host: str = "127.0.0.1") -> Response:
    """One request on a fresh connection with Connection: close. Raises
    OSError / http.client.HTTPException on connection problems."""
    h = {"Connection": "close"}
    if headers:
        h.update(headers)
    if isinstance(body, str):
        body = body.encode()
    t0 = time.monotonic()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        try:
            conn.request(method, path, body=body, headers=h)
        except (BrokenPipeError, ConnectionResetError):
            # The server may answer (e.g. 413) and close before reading the
            # whole body; the answer may still be readable. Unless
            # http.client already dropped the socket (the peer died while
            # we were sending): then there is no answer to read.
            if conn.sock is None:
                raise
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data,
                        time.monotonic() - t0)
    finally:
        conn.close()


def raw_request(port: int, data: bytes, timeout: float = 5.0, max_bytes: int = 1 << 20) -> bytes:
    """Sends raw bytes, returns everything read until the server closes (or
    the timeout/size bound hits)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        chunks = []
        total = 0
        deadline = time.monotonic() + timeout
        while total < max_bytes and time.monotonic() < deadline:
            try:
                c = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not c:
                break
            chunks.append(c)
            total += len(c)
        return b"".join(chunks)
    finally:
        s.close()


def q(s) -> str:
    """URL-encodes a key/value for a path segment or query (everything but
    unreserved characters is escaped)."""
    return urllib.parse.quote(s, safe="")


def kv_path(key, **params) -> str:
    p = "/kv/" + q(key)
    if params:
        p += "?" + "&".join(f"{k}={q(v)}" for k, v in params.items())
    return p


# --------------------------------------------------------------------------
# Cluster

@dataclass
class Member:
    id: int
    raft_port: int
    http_port: int
    data_dir: str
    log_path: str
    proc: Optional[subprocess.Popen] = None
    log_file: Optional[object] = None
    paused: bool = False
    starts: int = 0
    extra_args: list = field(default_factory=list)
    # Where the member listens (its raft and HTTP addresses) and, if set, the
    # network namespace it runs in (started through `ip netns exec NETNS`).
    host: str = "127.0.0.1"
    netns: Optional[str] = None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Cluster:
    """N raftkvd members on 127.0.0.1. Use as a context manager, or call
    cleanup() (tests register it with addCleanup)."""

    def __init__(self, n: int = 3, extra_args: Optional[list[str]] = None, name: str = "cluster",
                 fast: bool = True, http_in_spec: bool = True, spec_host: str = "127.0.0.1",
                 start: bool = True, keep: Optional[bool] = None,
                 hosts: Optional[list[str]] = None, netns: Optional[list[Optional[str]]] = None,
                 fixed_ports: Optional[tuple[int, int]] = None):
        """hosts/netns (optional, one per member): the address each member
        listens on and the network namespace it runs in; fixed_ports =
        (raft, http) gives every member the same ports (for members on
        distinct addresses) instead of free loopback ports."""
        self.n = n
        self.hosts = list(hosts) if hosts else None
        self.netns = list(netns) if netns else None
        self.fixed_ports = fixed_ports
        self.name = name
        self.args = (FAST_FLAGS if fast else []) + list(extra_args or [])
        self.http_in_spec = http_in_spec
        self.spec_host = spec_host
        self.keep = keep if keep is not None else bool(os.environ.get("RAFTKV_KEEP"))
        self.tmp = tempfile.mkdtemp(prefix=f"raftkv-it-{name}-")
        self.members: list[Member] = []
        self.saved_tails: dict[int, str] = {}
        self.cleaned = False
        # Every (term -> set of ids) that some /status reported as leader.
        self.leaders_seen: dict[int, set] = {}
        _install_handlers()
        with _registry_lock:
            _live_clusters.append(self)
        self._assign_ports()
        if start:
            self.start()

    # ---- configuration -------------------------------------------------
    def _assign_ports(self) -> None:
        if self.fixed_ports:
            ports = list(self.fixed_ports) * self.n
        else:
            ports = free_ports(2 * self.n)
        old = {m.id: m for m in self.members}
        self.members = []
        for i in range(self.n):
            d = os.path.join(self.tmp, f"data-{i}")
            lp = os.path.join(self.tmp, f"raftkvd-{i}.log")
            m = Member(i, ports[2 * i], ports[2 * i + 1], d, lp)
            if i in old:
                m.starts = old[i].starts
            if self.hosts:
                m.host = self.hosts[i]
            if self.netns:
                m.netns = self.netns[i]
            self.members.append(m)

    def spec(self) -> str:
        h = self.spec_host
        parts = []
        for m in self.members:
            h = m.host if self.hosts else self.spec_host
            s = f"{m.id},{h}:{m.raft_port}"
            if self.http_in_spec:
                s += f",{h}:{m.http_port}"
            parts.append(s)
        return ";".join(parts)

    def command(self, i: int, extra: Optional[list[str]] = None) -> list[str]:
        m = self.members[i]
        cmd = [binary(), "--node", str(i), "--cluster", self.spec(), "--data-dir", m.data_dir]
        if not self.http_in_spec:
            cmd += ["--http", f"{m.host}:{m.http_port}"]
        if m.netns:
            # `ip netns exec` execs the daemon: the pid stays the daemon's.
            cmd = ["ip", "netns", "exec", m.netns] + cmd
        return cmd + self.args + m.extra_args + list(extra or [])

    # ---- lifecycle ------------------------------------------------------
    def start(self, attempts: int = 3) -> None:
        """Starts every member and waits until each answers /status. Retries
        with fresh ports if a member lost a port race with another test."""
        for attempt in range(attempts):
            for i in range(self.n):
                self.start_member(i)
            try:
                self.wait_serving(timeout=10)
                return
            except AssertionError:
                in_use = any(not m.running() and "in use" in self.log_tail(m.id, 5).lower()
                             for m in self.members)
                if not in_use or attempt == attempts - 1:
                    raise
                for m in self.members:
                    self._kill_member_proc(m)
                shutil.rmtree(self.tmp, ignore_errors=True)
                os.makedirs(self.tmp, exist_ok=True)
                self._assign_ports()

    def start_member(self, i: int, extra: Optional[list[str]] = None) -> Member:
        m = self.members[i]
        assert not m.running(), f"member {i} already running"
        m.starts += 1
        if m.log_file:
            m.log_file.close()
        m.log_file = open(m.log_path, "ab")
        m.log_file.write(f"=== harness: start #{m.starts} of member {i}: "
                         f"{' '.join(self.command(i, extra))}\n".encode())
        m.log_file.flush()
        m.proc = spawn(self.command(i, extra), stdout=m.log_file, stderr=m.log_file)
        m.paused = False
        return m

    def wait_serving(self, ids: Optional[Iterable[int]] = None, timeout: float = 10) -> None:
        """Waits until each member in ids answers GET /status with 200."""
        ids = list(range(self.n)) if ids is None else list(ids)
        for i in ids:
            def ok(i=i):
                self.assert_alive(i)
                return self.status(i) is not None
            wait_until(ok, timeout, f"member {i} to serve /status")

    def assert_alive(self, i: int) -> None:
        m = self.members[i]
        if m.proc is None or m.proc.poll() is not None:
            rc = None if m.proc is None else m.proc.returncode
            raise AssertionError(f"member {i} is not running (exit status {rc}); log tail:\n"
                                 f"{self.log_tail(i)}")

    def _kill_member_proc(self, m: Member) -> None:
        if m.proc is not None:
            kill_proc(m.proc)
        m.paused = False

    def kill9(self, i: int) -> None:
        m = self.members[i]
        assert m.running(), f"kill9: member {i} not running"
        kill_proc(m.proc)
        self._note(i, "killed with SIGKILL")

    def stop(self, i: int, timeout: float = 10.0, expect: Optional[int] = 0,
             sig: int = signal.SIGTERM) -> int:
        """SIGTERM (or sig) and wait for exit; asserts the exit status is
        `expect` (unless None). Returns the exit status."""
        m = self.members[i]
        assert m.running(), f"stop: member {i} not running"
        if m.paused:
            self.resume(i)
        os.kill(m.proc.pid, sig)
        try:
            rc = m.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_proc(m.proc)
            raise AssertionError(f"member {i} did not exit within {timeout}s of signal {sig}; "
                                 f"log tail:\n{self.log_tail(i)}")
        _unregister(m.proc)
        self._note(i, f"stopped with signal {sig}: exit status {rc}")
        if expect is not None and rc != expect:
            raise AssertionError(f"member {i} exited with {rc} after signal {sig}, expected "
                                 f"{expect}; log tail:\n{self.log_tail(i)}")
        return rc

    def wait_exit(self, i: int, timeout: float) -> int:
        m = self.members[i]
        try:
            rc = m.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"member {i} still running after {timeout}s; log tail:\n"
                                 f"{self.log_tail(i)}")
        _unregister(m.proc)
        return rc

    def pause(self, i: int) -> None:
        m = self.members[i]
        assert m.running()
        os.kill(m.proc.pid, signal.SIGSTOP)
        m.paused = True
        self._note(i, "paused (SIGSTOP)")

    def resume(self, i: int) -> None:
        m = self.members[i]
        assert m.running()
        os.kill(m.proc.pid, signal.SIGCONT)
        m.paused = False
        self._note(i, "resumed (SIGCONT)")

    def restart(self, i: int, wait: bool = True, extra: Optional[list[str]] = None) -> None:
        """Starts a stopped/killed member again on its data dir."""
        m = self.members[i]
        if m.running():
            self.stop(i)
        self.start_member(i, extra)
        if wait:
            self.wait_serving([i])

    def stop_all(self, timeout: float = 10.0) -> None:
        for m in self.members:
            if m.running():
                self.stop(m.id, timeout=timeout)

    def cleanup(self) -> None:
        if self.cleaned:
            return
        self.cleaned = True
        for m in self.members:
            self._kill_member_proc(m)
        for m in self.members:
            if m.log_file:
                m.log_file.close()
                m.log_file = None
            self.saved_tails[m.id] = self._read_tail(m.log_path, 40)
        if self.keep:
            print(f"harness: keeping {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        with _registry_lock:
            if self in _live_clusters:
                _live_clusters.remove(self)

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is not None:
            print(self.all_log_tails(), file=sys.stderr)
        self.cleanup()

    # ---- logs -----------------------------------------------------------
    def _note(self, i: int, msg: str) -> None:
        m = self.members[i]
        if m.log_file:
            m.log_file.write(f"=== harness: {time.strftime('%H:%M:%S')} {msg}\n".encode())
            m.log_file.flush()

    @staticmethod
    def _read_tail(path: str, lines: int) -> str:
        try:
            with open(path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - 64 * 1024))
                data = f.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(data.splitlines()[-lines:])

    def log_tail(self, i: int, lines: int = 40) -> str:
        if self.cleaned:
            return "\n".join(self.saved_tails.get(i, "(no log)").splitlines()[-lines:])
        m = self.members[i]
        if m.log_file:
            m.log_file.flush()
        return self._read_tail(m.log_path, lines)

    def log_text(self, i: int) -> str:
        with open(self.members[i].log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def all_log_tails(self, lines: int = 40) -> str:
        out = []
        for m in self.members:
            out.append(f"----- {self.name} member {m.id} (http {m.http_port}, raft {m.raft_port}) "
                       f"last {lines} log lines -----")
            out.append(self.log_tail(m.id, lines))
        return "\n".join(out)

    # ---- HTTP -----------------------------------------------------------
    def request(self, i: int, method: str, path: str, body=None, timeout: float = 5.0,
                headers: Optional[dict] = None) -> Response:
        m = self.members[i]
        return http_request(m.http_port, method, path, body, timeout, headers, host=m.host)

    def try_request(self, i: int, method: str, path: str, body=None,
                    timeout: float = 5.0) -> Optional[Response]:
        try:
            return self.request(i, method, path, body, timeout)
        except (OSError, http.client.HTTPException):
            return None

    def put(self, i: int, key, value, timeout: float = 5.0, **params) -> Response:
        return self.request(i, "PUT", kv_path(key, **params), value, timeout)

    def get(self, i: int, key, timeout: float = 5.0, **params) -> Response:
        return self.request(i, "GET", kv_path(key, **params), None, timeout)

    def delete(self, i: int, key, timeout: float = 5.0) -> Response:
        return self.request(i, "DELETE", kv_path(key), None, timeout)

    def metrics(self, i: int, timeout: float = 10.0) -> dict[str, float]:
        """GET /metrics of member i as {"name{labels}": value} (comments and
        unparsable values left out)."""
        r = self.request(i, "GET", "/metrics", timeout=timeout)
        assert r.status == 200, r
        out = {}
        for line in r.text().splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                pass
        return out

    def must_status(self, i: int, timeout: float = 5.0) -> dict:
        """GET /status of member i, waiting (bounded) until it answers."""
        def cond():
            self.assert_alive(i)
            return self.status(i)
        return wait_until(cond, timeout, f"member {i} to answer /status")

    def status(self, i: int, timeout: float = 2.0) -> Optional[dict]:
        """GET /status as a dict, or None if the member does not answer."""
        m = self.members[i]
        if not m.running() or m.paused:
            return None
        r = self.try_request(i, "GET", "/status", timeout=timeout)
        if r is None or r.status != 200:
            return None
        try:
            st = r.json()
        except ValueError:
            return None
        if st.get("role") == "leader" and isinstance(st.get("term"), int):
            self.leaders_seen.setdefault(st["term"], set()).add(st.get("id"))
        return st

    def live_ids(self) -> list[int]:
        return [m.id for m in self.members if m.running() and not m.paused]

    def leader_id(self, ids: Optional[Iterable[int]] = None) -> Optional[int]:
        """The leader every live member in ids agrees on (the leader itself
        reports role=leader, everyone reports the same term and leader), or
        None."""
        ids = self.live_ids() if ids is None else list(ids)
        sts = {}
        for i in ids:
            st = self.status(i)
            if st is None:
                return None
            sts[i] = st
        leaders = [i for i, st in sts.items() if st.get("role") == "leader"]
        if len(leaders) != 1:
            return None
        lead = leaders[0]
        term = sts[lead].get("term")
        for i, st in sts.items():
            if st.get("term") != term or st.get("leader") != lead:
                return None
        return lead

    def wait_for_leader(self, timeout: float = 10.0, ids: Optional[Iterable[int]] = None,
                        exclude: Optional[int] = None) -> int:
        """Waits until the live members (or ids) agree on one leader
        (other than `exclude`); returns its id."""
        def cond():
            for i in (ids if ids is not None else self.live_ids()):
                self.assert_alive(i)
            lead = self.leader_id(ids)
            if lead is None or lead == exclude:
                return None
            return lead + 1  # truthy for id 0
        try:
            return wait_until(cond, timeout, "an agreed leader", interval=0.03) - 1
        except Timeout as e:
            states = {i: self.status(i) for i in range(self.n)}
            raise Timeout(f"{e}; statuses: {states}") from None

    def followers(self, leader: int) -> list[int]:
        return [i for i in self.live_ids() if i != leader]

    def two_leaders_in_a_term(self) -> dict:
        """Terms in which /status showed more than one leader."""
        return {t: s for t, s in self.leaders_seen.items() if len(s) > 1}

    def put_retry(self, key, value, timeout: float = 10.0, ids: Optional[list[int]] = None,
                  req_timeout: float = 3.0) -> tuple[int, Response]:
        """PUTs through live members in turn until one answers 200. Only for
        writes that are idempotent (plain PUT). Returns (member, response)."""
        ids_ = ids
        attempt = [0]

        def cond():
            live = ids_ if ids_ is not None else self.live_ids()
            i = live[attempt[0] % len(live)]
            attempt[0] += 1
            r = self.try_request(i, "PUT", kv_path(key), value, timeout=req_timeout)
            if r is not None and r.status == 200:
                return (i, r)
            return None
        return wait_until(cond, timeout, f"a successful PUT of {key!r}", interval=0.05)

    # ---- data dir -------------------------------------------------------
    def wal_files(self, i: int) -> list[str]:
        """The *.wal files in member i's data dir, sorted by name."""
        d = self.members[i].data_dir
        return sorted(glob.glob(os.path.join(d, "**", "*.wal"), recursive=True))


def flip_byte(path: str, offset: int, mask: int = 0xFF) -> tuple[int, int]:
    """XORs the byte at offset with mask; returns (old, new)."""
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        assert len(b) == 1, f"{path} has no byte at {offset}"
        new = b[0] ^ mask
        f.seek(offset)
        f.write(bytes([new]))
        f.flush()
        os.fsync(f.fileno())
    return b[0], new


def data_end(path: str) -> int:
    """Length of the file without its trailing zero bytes (segments may be
    preallocated with zeros)."""
    with open(path, "rb") as f:
        data = f.read()
    return len(data.rstrip(b"\x00"))


def truncate_to(path: str, size: int) -> None:
    with open(path, "r+b") as f:
        f.truncate(size)
        os.fsync(f.fileno())


# --------------------------------------------------------------------------
# unittest glue

class ClusterTestCase(unittest.TestCase):
    """Base class: clusters made through self.cluster()/cls.class_cluster()
    are cleaned up automatically and their logs printed when a test fails."""

    _class_clusters: list = []

    def cluster(self, n: int = 3, **kw) -> Cluster:
        c = Cluster(n=n, name=self._testMethodName.removeprefix("test_")[:30], **kw)
        self.__dict__.setdefault("_clusters", []).append(c)
        self.addCleanup(c.cleanup)
        return c

    @classmethod
    def class_cluster(cls, n: int = 3, **kw) -> Cluster:
        c = Cluster(n=n, name=cls.__name__[:30], **kw)
        cls._class_clusters = list(cls._class_clusters) + [c]
        cls.addClassCleanup(c.cleanup)
        return c

    def all_clusters(self) -> list:
        return list(self.__dict__.get("_clusters", [])) + list(type(self)._class_clusters)


class SharedClusterTestCase(ClusterTestCase):
    """One 3-member cluster for the whole class; each test starts with
    self.lead (the current leader) and self.fol (its followers)."""

    @classmethod
    def setUpClass(cls):
        cls.c = cls.class_cluster(3)
        cls.c.wait_for_leader(timeout=10)

    def setUp(self):
        self.lead = self.c.wait_for_leader(timeout=10)
        self.fol = self.c.followers(self.lead)


class _LogDumpingResult(unittest.TextTestResult):
    def _dump(self, test) -> None:
        clusters = test.all_clusters() if hasattr(test, "all_clusters") else []
        for c in clusters:
            self.stream.write(f"\n{c.all_log_tails()}\n")
            self.stream.flush()

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._dump(test)

    def addError(self, test, err):
        super().addError(test, err)
        self._dump(test)


def main() -> None:
    """Entry point of each test script: finds the binary, runs unittest,
    exits 0 (all passed), 1 (a failure) or 77 (no binary: skipped)."""
    global RAFTKVD
    RAFTKVD, argv = find_raftkvd(sys.argv)
    if RAFTKVD is None or not os.access(RAFTKVD, os.X_OK):
        print(f"SKIP: raftkvd binary not found or not executable ({RAFTKVD!r}); "
              "set RAFTKVD or pass --raftkvd PATH", file=sys.stderr)
        sys.exit(77)
    RAFTKVD = os.path.abspath(RAFTKVD)
    print(f"raftkvd: {RAFTKVD}", file=sys.stderr)
    _install_handlers()
    runner = unittest.TextTestRunner(verbosity=2, resultclass=_LogDumpingResult, stream=sys.stdout)
    prog = unittest.main(argv=argv, testRunner=runner, exit=False)
    cleanup_all()
    sys.stdout.flush()
    sys.exit(0 if prog.result.wasSuccessful() else 1)
