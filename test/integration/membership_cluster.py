"""A cluster whose membership changes: `initial` members started from
--cluster, plus spare slots whose members join later with --join and a spec
naming themselves and one existing member (`contact`). Shared by
test_membership.py and the fault runner's membership nemesis.

`node_ids[slot]` is the id of the slot's current member: the slot number
at first; a nemesis that replaces a removed member gives the slot a fresh id
(a removed id is never reused).
"""

from __future__ import annotations

from typing import Optional

import harness


class MembershipCluster(harness.Cluster):
    def __init__(self, initial: int, spares: int, **kw):
        self.initial = initial
        self.node_ids = list(range(initial + spares))
        self.joiners: set[int] = set()
        self.contact = 0  # the existing member a joiner's spec names
        super().__init__(n=initial + spares, **kw)

    def member_spec(self, slot: int, node_id: Optional[int] = None) -> str:
        m = self.members[slot]
        node_id = self.node_ids[slot] if node_id is None else node_id
        return f"{node_id},{m.host}:{m.raft_port},{m.host}:{m.http_port}"

    def spec(self) -> str:
        return ";".join(self.member_spec(i) for i in range(self.initial))

    def command(self, i, extra=None):
        if i not in self.joiners:
            return super().command(i, extra)
        m = self.members[i]
        # Any existing member will do: the leader that adds it calls it.
        spec = f"{self.member_spec(self.contact)};{self.member_spec(i)}"
        cmd = [harness.binary(), "--node", str(self.node_ids[i]), "--join", "--cluster", spec,
               "--data-dir", m.data_dir]
        if m.netns:
            cmd = ["ip", "netns", "exec", m.netns] + cmd
        return cmd + self.args + m.extra_args + list(extra or [])

    def start(self, attempts: int = 3) -> None:
        for i in range(self.initial):
            self.start_member(i)
        self.wait_serving(range(self.initial), timeout=15)

    def join(self, slot: int) -> None:
        """Starts the slot's member with --join and waits until it serves."""
        self.joiners.add(slot)
        self.start_member(slot)
        self.wait_serving([slot])

    def slot_of(self, node_id: int) -> Optional[int]:
        return self.node_ids.index(node_id) if node_id in self.node_ids else None

    def raft_addr(self, slot: int) -> str:
        return f"{self.members[slot].host}:{self.members[slot].raft_port}"

    def http_addr(self, slot: int) -> str:
        return f"{self.members[slot].host}:{self.members[slot].http_port}"

    def add_path(self, slot: int, node_id: Optional[int] = None) -> str:
        """POST path adding the slot's member (id `node_id`, default its current one)."""
        node_id = self.node_ids[slot] if node_id is None else node_id
        return f"/members?id={node_id}&raft={self.raft_addr(slot)}&http={self.http_addr(slot)}"

    def members_of(self, via: int) -> dict:
        """GET /members through member `via`, by id."""
        r = self.request(via, "GET", "/members")
        assert r.status == 200, r
        return {m["id"]: m for m in r.json()}
