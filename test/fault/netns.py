"""Private networks for the fault suite: one network namespace per member,
a bridge in a namespace of its own, and a veth from the root namespace into
the bridge for the clients (Python 3.11 standard library only).

Layout for run id R (the runner's pid) and subnet 10.X.Y.0/24:

    root ns:      rkvRh  10.X.Y.1/24   (clients; never partitioned)
                    |
    rkv-R-br:     host --+-- br0 --+-- p0 ... p(n-1)
                                   |
    rkv-R-i:      eth0 10.X.Y.(10+i)/24   (member i: raft :7000, HTTP :8000)

Faults are applied inside the member namespaces only, on *input* from other
members' addresses (never from 10.X.Y.1, so clients always reach every
member, including an isolated leader):
  * partition: nft `ip saddr { peers } drop` in each member's namespace;
  * loss: nft `ip saddr { peers } numgen random mod 100 < P drop`;
  * delay/loss with tc netem on each member's eth0 where the kernel has it.
Nothing outside the machine is ever addressed: the subnet exists only on
the interfaces created here.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import subprocess
import time
from typing import Callable, Optional

# command -> Debian package that provides it
REQUIRED_TOOLS = {"ip": "iproute2", "nft": "nftables", "tc": "iproute2"}

TABLE = "rkvfault"
LOCK_PATH = "/run/lock/raftkv-fault-net.lock"
NS_RE = re.compile(r"^rkv-(\d+)-(br|\d+)$")
HOST_IF_RE = re.compile(r"^rkv(\d+)h$")


class NetError(RuntimeError):
    pass


def sh(args: list[str], timeout: float = 15.0, check: bool = True,
       input_: Optional[str] = None) -> subprocess.CompletedProcess:
    try:
        r = subprocess.run(args, input=input_, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise NetError(f"{' '.join(args)}: still running after {timeout}s") from e
    except FileNotFoundError as e:
        raise NetError(f"{args[0]}: not found") from e
    if check and r.returncode != 0:
        raise NetError(f"{' '.join(args)}: exit {r.returncode}: {r.stderr.strip()[:300]}")
    return r


def missing_tools() -> dict[str, str]:
    return {c: p for c, p in REQUIRED_TOOLS.items() if shutil.which(c) is None}


def ensure_tools(log: Callable[[str], None], install: bool = True) -> dict[str, str]:
    """Installs the Debian packages of missing tools (root + apt-get only).
    Returns what is still missing."""
    miss = missing_tools()
    if miss and install and os.geteuid() == 0 and shutil.which("apt-get"):
        pkgs = sorted(set(miss.values()))
        log(f"installing missing packages: {' '.join(pkgs)} (for {', '.join(sorted(miss))})")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for args in (["apt-get", "update", "-qq"],
                     ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + pkgs):
            try:
                subprocess.run(args, env=env, capture_output=True, timeout=300)
            except (subprocess.TimeoutExpired, OSError) as e:
                log(f"{' '.join(args[:2])} failed: {e!r}")
                break
        miss = missing_tools()
    return miss


def _pid_is_runner(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"run_fault" in f.read()
    except OSError:
        return False


def list_netns() -> list[str]:
    r = sh(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def _kill_ns_pids(ns: str) -> None:
    r = sh(["ip", "netns", "pids", ns], check=False)
    for tok in r.stdout.split():
        try:
            os.kill(int(tok), signal.SIGKILL)
        except (ValueError, ProcessLookupError, PermissionError):
            pass


def sweep_stale(log: Callable[[str], None]) -> int:
    """Deletes rkv-* namespaces and rkv*h links left by runs whose runner is
    gone (crashed or killed -9). Namespaces of live runs are left alone."""
    n = 0
    for ns in list_netns():
        m = NS_RE.match(ns)
        if not m or _pid_is_runner(int(m.group(1))):
            continue
        _kill_ns_pids(ns)
        sh(["ip", "netns", "del", ns], check=False)
        n += 1
    r = sh(["ip", "-o", "link", "show"], check=False)
    for line in r.stdout.splitlines():
        parts = line.split(":")
        if len(parts) < 2:
            continue
        name = parts[1].strip().split("@")[0]
        m = HOST_IF_RE.match(name)
        if m and not _pid_is_runner(int(m.group(1))):
            sh(["ip", "link", "del", name], check=False)
            n += 1
    if n:
        log(f"startup sweep: removed {n} stale namespace(s)/link(s) of earlier runs")
    return n


class Net:
    RAFT_PORT = 7000
    HTTP_PORT = 8000

    def __init__(self, n: int, runid: Optional[str] = None,
                 log: Callable[[str], None] = print):
        self.n = n
        self.runid = runid or str(os.getpid())
        self.log = log
        self.br_ns = f"rkv-{self.runid}-br"
        self.member_ns = [f"rkv-{self.runid}-{i}" for i in range(n)]
        self.host_if = f"rkv{self.runid}h"
        assert len(self.host_if) <= 15
        self.subnet: Optional[str] = None   # "10.X.Y"
        self.created: list[str] = []
        self.host_if_created = False
        self.netem = False
        self.nft_loss = False
        self.torn_down = False

    # ---- addresses ------------------------------------------------------
    def addr(self, i: int) -> str:
        return f"{self.subnet}.{10 + i}"

    @property
    def client_addr(self) -> str:
        return f"{self.subnet}.1"

    # ---- set-up ---------------------------------------------------------
    def _used_prefixes(self) -> set[str]:
        used = set()
        for args in (["ip", "-4", "-o", "addr", "show"], ["ip", "-4", "route", "show", "table", "all"]):
            out = sh(args, check=False).stdout
            for m in re.finditer(r"\b10\.(\d+)\.(\d+)\.\d+", out):
                used.add(f"10.{m.group(1)}.{m.group(2)}")
        # Also 10/8-wide routes would overlap anything: then give up on 10/8.
        return used

    def setup(self) -> None:
        os.makedirs(os.path.dirname(LOCK_PATH), exist_ok=True)
        with open(LOCK_PATH, "w") as lockf:
            fcntl.flock(lockf, fcntl.LOCK_EX)   # subnet choice + host link: one run at a time
            used = self._used_prefixes()
            start = int(self.runid) % 200 if self.runid.isdigit() else 0
            for k in range(250):
                cand = f"10.213.{(start + k) % 250 + 1}"
                if cand not in used:
                    self.subnet = cand
                    break
            if self.subnet is None:
                raise NetError("no free 10.213.Y.0/24 subnet")
            self._create()

    def _ns_add(self, ns: str) -> None:
        sh(["ip", "netns", "add", ns])
        self.created.append(ns)
        sh(["ip", "-n", ns, "link", "set", "lo", "up"])

    def _create(self) -> None:
        self._ns_add(self.br_ns)
        b = ["ip", "-n", self.br_ns]
        sh(b + ["link", "add", "br0", "type", "bridge"])
        sh(b + ["link", "set", "br0", "up"])
        for i, ns in enumerate(self.member_ns):
            self._ns_add(ns)
            sh(b + ["link", "add", f"p{i}", "type", "veth", "peer", "name", "eth0", "netns", ns])
            sh(b + ["link", "set", f"p{i}", "master", "br0", "up"])
            sh(["ip", "-n", ns, "addr", "add", f"{self.addr(i)}/24", "dev", "eth0"])
            sh(["ip", "-n", ns, "link", "set", "eth0", "up"])
        sh(["ip", "link", "add", self.host_if, "type", "veth", "peer", "name", "host",
            "netns", self.br_ns])
        self.host_if_created = True
        sh(b + ["link", "set", "host", "master", "br0", "up"])
        sh(["ip", "addr", "add", f"{self.client_addr}/24", "dev", self.host_if])
        sh(["ip", "link", "set", self.host_if, "up"])

    def probe_features(self) -> None:
        """Probes once whether tc netem and nft numgen work here."""
        ns = self.member_ns[0]
        r = sh(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem",
                "delay", "1ms"], check=False)
        self.netem = r.returncode == 0
        if self.netem:
            sh(["ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", "lo", "root"], check=False)
        try:
            self._nft(0, f"ip saddr {{ {self.addr(1)} }} numgen random mod 100 < 1 drop")
            self.nft_loss = True
        except NetError:
            self.nft_loss = False
        self._nft_delete(0)

    # ---- faults ---------------------------------------------------------
    def _nft(self, i: int, rules: str) -> None:
        # add + delete + define in one transaction: atomic replace.
        script = (f"table inet {TABLE} {{}}\ndelete table inet {TABLE}\n"
                  f"table inet {TABLE} {{\n chain input {{\n"
                  f"  type filter hook input priority 0; policy accept;\n  {rules}\n }}\n}}\n")
        sh(["ip", "netns", "exec", self.member_ns[i], "nft", "-f", "-"], input_=script)

    def _nft_delete(self, i: int) -> None:
        sh(["ip", "netns", "exec", self.member_ns[i], "nft", "delete", "table", "inet", TABLE],
           check=False)

    def partition(self, groups: list[list[int]]) -> None:
        """Members only reach members of their own group (clients reach all)."""
        where = {i: g for g in groups for i in g}
        for i in range(self.n):
            peers = [self.addr(j) for j in range(self.n) if j not in where.get(i, [i])]
            if peers:
                self._nft(i, f"ip saddr {{ {', '.join(peers)} }} drop")
            else:
                self._nft_delete(i)

    def loss(self, percent: int) -> None:
        for i in range(self.n):
            peers = [self.addr(j) for j in range(self.n) if j != i]
            self._nft(i, f"ip saddr {{ {', '.join(peers)} }} numgen random mod 100 < {percent} drop")

    def netem_on(self, delay_ms: int, jitter_ms: int, loss_pct: int) -> None:
        for ns in self.member_ns:
            sh(["ip", "netns", "exec", ns, "tc", "qdisc", "replace", "dev", "eth0", "root", "netem",
                "delay", f"{delay_ms}ms", f"{jitter_ms}ms", "loss", f"{loss_pct}%"])

    def heal(self) -> None:
        for i, ns in enumerate(self.member_ns):
            if ns in self.created:
                self._nft_delete(i)
                if self.netem:
                    sh(["ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", "eth0", "root"],
                       check=False)

    def rules_present(self) -> list[str]:
        """Member namespaces that still have fault rules (for the final check)."""
        out = []
        for ns in self.member_ns:
            if ns not in self.created:
                continue
            r = sh(["ip", "netns", "exec", ns, "nft", "list", "tables"], check=False)
            if TABLE in r.stdout:
                out.append(ns)
        return out

    # ---- tear-down ------------------------------------------------------
    def teardown(self) -> None:
        """Removes rules, namespaces and the host link. Kill the members
        first (a namespace lives on while a process is in it)."""
        if self.torn_down:
            return
        self.torn_down = True
        for ns in reversed(self.created):
            _kill_ns_pids(ns)
            sh(["ip", "netns", "del", ns], check=False)
        if self.host_if_created:
            # Gone with its peer's namespace, normally; make sure.
            deadline = time.monotonic() + 5
            for _ in range(50):
                if time.monotonic() > deadline:
                    break
                r = sh(["ip", "link", "show", self.host_if], check=False)
                if r.returncode != 0:
                    break
                sh(["ip", "link", "del", self.host_if], check=False)
        self.created = []
