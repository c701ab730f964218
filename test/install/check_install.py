#!/usr/bin/env python3
"""`meson install --destdir` into a temporary directory, then checks that
every file an operator needs landed (raftkvd, raftkv-bench, raftkv-dump, the
systemd unit, the man pages, the example env file), that the unit names the
installed raftkvd, and that `systemd-analyze verify` accepts the unit and
`systemd-analyze security --offline=true` rates its exposure 2.0 or lower.

Usage: check_install.py BUILD_DIR PREFIX UNIT_PATH SBIN_PATH MANDIR FILE...
(absolute installed paths, as meson computes them; DESTDIR is added here).
UNIT_PATH is '-' when the build installs no unit (-Dsystemdsystemunitdir=no,
or no libsystemd): then only the other files are checked.

When systemd-analyze is missing (install Debian's `systemd` package) the
systemd checks are skipped with a message, and the file checks still run.
verify runs on a copy of the unit whose ExecStart= points into the DESTDIR
tree (the real path does not exist on the build host) and with MANPATH set
to the installed man pages, so that Documentation=man:raftkvd(8) is checked
against the page we ship. Complaints about units other than ours (the
host's) are printed but do not fail the test.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

MAX_EXPOSURE = 2.0


def fail(message: str) -> None:
    print(f"FAIL: {message}")
    sys.exit(1)


def rooted(destdir: str, path: str) -> str:
    return os.path.join(destdir, path.lstrip("/"))


def meson_install(build_dir: str, destdir: str) -> None:
    # --no-rebuild: meson test has already built everything it depends on.
    cmd = ["meson", "install", "-C", build_dir, "--destdir", destdir, "--no-rebuild"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}")


def installed_files(destdir: str) -> list[str]:
    found = []
    for root, _, files in os.walk(destdir):
        for name in files:
            found.append("/" + os.path.relpath(os.path.join(root, name), destdir))
    return sorted(found)


def check_files(destdir: str, expected: list[str], sbin_path: str) -> None:
    missing = [p for p in expected if not os.path.isfile(rooted(destdir, p))]
    if missing:
        fail(f"not installed: {missing}")
    for p in expected:
        if "/bin/" in p or "/sbin/" in p:
            if not os.access(rooted(destdir, p), os.X_OK):
                fail(f"{p} is not executable")
    r = subprocess.run([rooted(destdir, sbin_path), "--version"], capture_output=True, text=True)
    if r.returncode != 0 or "raftkvd" not in r.stdout:
        fail(f"installed raftkvd --version: exit {r.returncode}, {r.stdout!r} {r.stderr!r}")


def check_man_pages(destdir: str, files: list[str]) -> None:
    """Each man page must mention every flag its program's --help lists:
    the pages are hand-written and must not fall behind."""
    programs = {os.path.basename(p): p for p in files if "/bin/" in p or "/sbin/" in p}
    for page in (p for p in files if re.search(r"/man\d/[^/]+\.\d$", p)):
        name = os.path.basename(page).rsplit(".", 1)[0]
        if name not in programs:
            continue
        r = subprocess.run([rooted(destdir, programs[name]), "--help"], capture_output=True,
                           text=True)
        flags = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", r.stdout + r.stderr))
        with open(rooted(destdir, page)) as f:
            text = f.read().replace("\\-", "-")
        missing = sorted(flag for flag in flags if not re.search(re.escape(flag) + r"\b", text))
        if r.returncode != 0 or not flags or missing:
            fail(f"{page}: --help exit {r.returncode}, flags missing from the page: {missing}")
        print(f"{page}: all {len(flags)} flags of {name} --help documented")


def check_exec_start(unit_text: str, sbin_path: str) -> None:
    m = re.search(r"^ExecStart=(\S+)", unit_text, re.M)
    if not m or m.group(1) != sbin_path:
        fail(f"ExecStart= runs {m.group(1) if m else None!r}, raftkvd is installed as {sbin_path}")


def our_problems(output: str, names: tuple[str, ...]) -> list[str]:
    return [line for line in output.splitlines() if any(n in line for n in names)]


def verify_unit(destdir: str, unit_path: str, sbin_path: str, mandir: str, work: str) -> None:
    with open(rooted(destdir, unit_path)) as f:
        text = f.read()
    check_exec_start(text, sbin_path)
    # A template cannot be verified, an instance can: raftkvd@0.service.
    instance = os.path.join(work, "raftkvd@0.service")
    with open(instance, "w") as f:
        f.write(text.replace(f"ExecStart={sbin_path}", f"ExecStart={rooted(destdir, sbin_path)}"))
    env = dict(os.environ, MANPATH=rooted(destdir, mandir), SYSTEMD_LOG_COLOR="0")
    verify = ["systemd-analyze", "verify", instance]
    if shutil.which("man") is None:
        # verify runs man(1) for Documentation=man:...; without man-db it
        # would report our (installed) page as missing.
        print("note: man not found (Debian package man-db): verify --man=no")
        verify.insert(2, "--man=no")
    r = subprocess.run(verify, capture_output=True, text=True, env=env)
    output = (r.stdout + r.stderr).strip()
    print(f"systemd-analyze verify raftkvd@0.service: exit {r.returncode}")
    if output:
        print(output)
    problems = our_problems(output, ("raftkvd@", instance))
    if problems:
        fail(f"systemd-analyze verify found problems in the unit: {problems}")
    if r.returncode != 0:
        print("note: verify exited non-zero for reasons outside raftkvd@.service (see above)")

    r = subprocess.run(["systemd-analyze", "security", "--offline=true", instance],
                       capture_output=True, text=True, env=env)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\S+)", r.stdout + r.stderr)
    if not m:
        fail(f"no exposure level from systemd-analyze security (exit {r.returncode}):\n"
             f"{r.stdout}{r.stderr}")
    print(f"systemd-analyze security --offline=true: exposure {m.group(1)} {m.group(2)}")
    if float(m.group(1)) > MAX_EXPOSURE:
        fail(f"exposure {m.group(1)} is above {MAX_EXPOSURE}:\n{r.stdout}")


def main() -> None:
    if len(sys.argv) < 6:
        fail(__doc__)
    build_dir, _prefix, unit_path, sbin_path, mandir, *expected = sys.argv[1:]
    work = tempfile.mkdtemp(prefix="raftkv-install-")
    try:
        destdir = os.path.join(work, "destdir")
        meson_install(build_dir, destdir)
        print("installed:")
        for p in installed_files(destdir):
            print(f"  {p}")
        check_files(destdir, expected + ([] if unit_path == "-" else [unit_path]) + [sbin_path],
                    sbin_path)
        check_man_pages(destdir, expected + [sbin_path])
        if unit_path == "-":
            print("SKIP systemd checks: this build installs no unit")
        elif shutil.which("systemd-analyze") is None:
            print("SKIP systemd checks: systemd-analyze not found (Debian package `systemd`)")
        else:
            verify_unit(destdir, unit_path, sbin_path, mandir, work)
        print("OK")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
