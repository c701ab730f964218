"""The membership nemesis of run_fault.py (--membership; docs/fault-testing.md):
members are added and removed through the admin API while the other
nemeses kill, pause and partition.

The cluster gets spare slots (network namespaces and ports) beyond --nodes.
Adding takes a free slot, starts a fresh member there with --join and a new
id, and asks the leader to add it (POST /members); it catches up as a
learner and the leader promotes it. Removing picks any member, the leader
included, and asks the leader to remove it (DELETE /members/ID). The
configuration stays between --nodes and --nodes + spares members.

Ids are never reused (docs/operations.md): a slot's n-th member has id
slot + 100 * n. A slot is reused only after its member's removal was
answered 200 (committed): its process is then killed and its data dir
deleted. A removal whose outcome is unknown (504, a lost connection) stops
the member with its data intact and retires the slot: if the removal never
commits, the member is still in the configuration with its log, and the
end of the run restarts it like any killed member.

What the run's checks need: `ids()` is the configuration as the leader
last reported it (GET /members), refreshed after every change and by
`settle()` at the end; the runner reads statuses, converges, reads and
compares logs on those slots only.
"""

from __future__ import annotations

import shutil
import time
from typing import Callable, Optional

import harness
from membership_cluster import MembershipCluster  # noqa: F401  (run_fault builds it)

ID_STRIDE = 100  # slot s's n-th member has id s + ID_STRIDE * n
CHANGE_BOUND = 10.0  # s to get a change through (leader changes, "pending" 409s)


class MembershipNemesis:
    """Adds and removes members. `runner` is run_fault's Runner: its rng,
    event log, hold pacing and find_leader are used."""

    def __init__(self, runner, cluster: MembershipCluster, say: Callable[[str], None]):
        self.r = runner
        self.c = cluster
        self.say = say
        self.min_size = cluster.initial
        self.config: set[int] = set(range(cluster.initial))  # slots in the configuration
        self.free: list[int] = list(range(cluster.initial, cluster.n))
        self.used: set[int] = set(range(cluster.initial))  # slots that had a member
        self.changes = {"added": 0, "removed": 0, "refused": 0, "unknown": 0}

    # ---- what the runner asks ------------------------------------------------
    def ids(self) -> list[int]:
        """The slots in the configuration, as the leader last reported it."""
        return sorted(self.config)

    def step(self, end: float) -> None:
        can_add = bool(self.free)
        can_remove = len(self.config) > self.min_size
        if can_add and (not can_remove or self.r.rng.random() < 0.5):
            self.add(end)
        elif can_remove:
            self.remove(end)

    def settle(self) -> None:
        """End of the run: the configuration from the leader, and no member
        process outside it (a joiner never added, a member removed)."""
        self.refresh(timeout=20)
        for m in self.c.members:
            if m.id not in self.config and m.running():
                self.say(f"membership: slot {m.id} (id {self.c.node_ids[m.id]}) is not in the "
                         "configuration: stopping it")
                harness.kill_proc(m.proc)
        self.r.event("membership", "settled", members=self.member_ids(), **self.changes)

    # ---- changes -----------------------------------------------------------
    def add(self, end: float) -> None:
        c = self.c
        slot = self.free.pop(0)
        if slot in self.used:
            c.node_ids[slot] += ID_STRIDE  # a new member, never a reused id
        self.used.add(slot)
        node_id = c.node_ids[slot]
        shutil.rmtree(c.members[slot].data_dir, ignore_errors=True)
        c.joiners.add(slot)
        c.contact = self.r.rng.choice(sorted(self.config))
        c.start_member(slot)
        m = c.members[slot]
        path = c.add_path(slot)
        self.r.event("membership", "start", action="add", slot=slot, id=node_id)
        outcome, answer = self.change("POST", path)
        self.refresh()
        if outcome == "done" or slot in self.config:
            self.changes["added"] += 1
            self.config.add(slot)
        elif outcome == "unknown":
            # It may still be added: keep it running; settle() decides.
            self.changes["unknown"] += 1
        else:
            self.changes["refused"] += 1
            harness.kill_proc(m.proc)
            self.free.append(slot)
        self.r.event("membership", "done", action="add", slot=slot, id=node_id, answer=answer,
                     outcome=outcome, members=self.member_ids())
        if outcome == "done":
            # Time for it to catch up and be promoted while the others go on.
            self.r.hold(self.r.rng.uniform(*self.r.a.hold), end)

    def remove(self, end: float) -> None:
        c = self.c
        slot = self.r.rng.choice(sorted(self.config))
        node_id = c.node_ids[slot]
        self.r.event("membership", "start", action="remove", slot=slot, id=node_id)
        outcome, answer = self.change("DELETE", f"/members/{node_id}")
        self.refresh()
        m = c.members[slot]
        if outcome == "done":
            # Committed: the slot may take a new member (with a new id).
            self.changes["removed"] += 1
            self.config.discard(slot)
            if m.running():
                harness.kill_proc(m.proc)
            shutil.rmtree(m.data_dir, ignore_errors=True)
            self.free.append(slot)
        elif slot not in self.config:
            # Gone from the leader's configuration, not known committed: the
            # member stops with its data intact and its slot is not reused;
            # if the removal is undone, the end of the run restarts it.
            self.changes["unknown"] += 1
            if m.running():
                harness.kill_proc(m.proc)
        else:
            self.changes["refused" if outcome == "refused" else "unknown"] += 1
        self.r.event("membership", "done", action="remove", slot=slot, id=node_id,
                     answer=answer, outcome=outcome, members=self.member_ids())

    def change(self, method: str, path: str) -> tuple[str, Optional[int]]:
        """Sends the change to the leader until it is answered 200, refused
        for good, or CHANGE_BOUND passes; a 409 with "retry" (another
        change, a promotion, is committing), 503 (not the leader, no
        leader) and lost connections are retried. Returns (outcome, last
        HTTP status): "done" (200: committed), "refused" (409 for good, or
        never proposed), "unknown" (some attempt got 504 or lost its
        connection after sending: it may commit later)."""
        deadline = time.monotonic() + CHANGE_BOUND
        last: Optional[int] = None
        maybe = False
        while time.monotonic() < deadline:
            lead = self.r.find_leader(self.running_slots(), timeout=3.0)
            if lead is None:
                continue
            try:
                r = self.c.request(lead, method, path, timeout=3.0)
            except ConnectionRefusedError:
                continue
            except OSError:
                maybe = True
                continue
            last = r.status
            if r.status == 200:
                return "done", 200
            if r.status == 504:
                maybe = True
            elif r.status in (400, 404) or (r.status == 409 and not r.json().get("retry")):
                break  # refused for good (404: removed by an earlier attempt, if any)
            time.sleep(0.2)
        return ("unknown" if maybe else "refused"), last

    def refresh(self, timeout: float = 5.0) -> None:
        """The configuration as the leader reports it (GET /members)."""
        lead = self.r.find_leader(self.running_slots(), timeout=timeout)
        if lead is None:
            return
        r = self.c.try_request(lead, "GET", "/members", timeout=3.0)
        if r is None or r.status != 200:
            return
        slots = set()
        for member in r.json():
            slot = self.c.slot_of(member["id"])
            if slot is not None:
                slots.add(slot)
        self.config = slots
        self.free = [s for s in self.free if s not in slots]

    def running_slots(self) -> list[int]:
        return [m.id for m in self.c.members if m.running() and not m.paused]

    def member_ids(self) -> list[int]:
        return [self.c.node_ids[s] for s in sorted(self.config)]
