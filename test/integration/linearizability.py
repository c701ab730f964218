"""Linearizability checker for per-key register histories (stdlib only).

Model: each key is an independent register whose state is a value or ABSENT
(None). Operations and what an `ok` outcome means:

  kind     arguments       ok result            precondition -> new state
  -------  --------------  -------------------  ---------------------------------
  write    value           (none)               any -> value
  read     -               value or None        state == result -> unchanged
  cas      old, value      True  (HTTP 200)     state == old -> value
                           False (HTTP 412)     state != old -> unchanged
  create   value           True  (HTTP 200)     state is None -> value
                           False (HTTP 412)     state is not None -> unchanged
  delete   -               True  (HTTP 200)     state is not None -> None
                           False (HTTP 404)     state is None -> None

Outcomes (Op.status):
  ok    completed with the result above; must take effect between invoke and
        complete.
  fail  definitely had no effect and carries no information (e.g. HTTP 503):
        the operation is dropped.
  info  indeterminate (HTTP 504, client timeout, connection error): it may
        have taken effect at any time after invoke, or never; its completion
        is +infinity and its result unknown. An indeterminate read is dropped.

Algorithm: Wing & Gong's search with Lowe's memoization as in Porcupine:
walk a time-ordered list of call/return events; linearize a called
operation if the model accepts it and the (linearized-set, state) pair has
not been explored; backtrack at a return event whose operation has not been
linearized yet. Histories are partitioned by key (a register per key is
P-compositional). A deadline turns a search that would take too long into
"unknown" instead of hanging.

On failure it returns the key and a small sub-history that is by itself not
linearizable, for humans: it is cut from the failing history at the earliest
time the history is already non-linearizable, reads and no-effect results
that are not needed are dropped (both steps can never turn a linearizable
history into a non-linearizable one), and then effects whose value no kept
operation observed are dropped (never a possible source of an observed
value).

Command line: python3 linearizability.py HISTORY.jsonl [--deadline S]
with one JSON object per line: {"key", "kind", "value", "old", "invoke",
"complete", "status", "result", "client"} (complete null for info).
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any, Hashable, Iterable, Optional

INF = math.inf
KINDS = ("write", "read", "cas", "create", "delete")
STATUSES = ("ok", "fail", "info")


@dataclass(frozen=True)
class Op:
    key: Hashable
    kind: str
    invoke: float
    complete: float = INF       # INF for info
    status: str = "ok"
    value: Any = None           # write/create value, cas new value
    old: Any = None             # cas expected value
    result: Any = None          # read: value or None; cas/create/delete: bool
    client: Any = None
    id: int = -1                # position in the original history

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown op kind {self.kind!r}")
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        if self.status == "info" and self.complete != INF:
            object.__setattr__(self, "complete", INF)
        if self.status == "ok" and not (self.complete >= self.invoke):
            raise ValueError(f"op completes before it is invoked: {self}")

    def describe(self, t0: float = 0.0) -> str:
        def fmt(v):
            return "absent" if v is None else repr(v)
        k = self.kind
        if k == "write":
            what = f"write({fmt(self.value)})"
        elif k == "read":
            what = "read()"
        elif k == "cas":
            what = f"cas({fmt(self.old)} -> {fmt(self.value)})"
        elif k == "create":
            what = f"create({fmt(self.value)})"
        else:
            what = "delete()"
        if self.status == "info":
            res = "?? indeterminate"
        elif self.status == "fail":
            res = "failed, no effect"
        elif k == "read":
            res = f"-> {fmt(self.result)}"
        elif k in ("cas", "create"):
            res = "-> ok" if self.result else "-> precondition failed (412)"
        elif k == "delete":
            res = "-> deleted" if self.result else "-> was absent (404)"
        else:
            res = "-> ok"
        end = f"{'inf':>9}" if self.complete == INF else f"{self.complete - t0:9.4f}"
        who = f" client {self.client}" if self.client is not None else ""
        return f"[{self.invoke - t0:9.4f}, {end}]{who}: {what} {res}"


# --------------------------------------------------------------------------
# The model

def step(state, op: Op):
    """Returns the new state if op can take effect in `state`, else a
    sentinel _REJECT."""
    k = op.kind
    if op.status == "info":
        # Unknown result: it happened (with whatever result the state
        # dictates); "never happened" is covered by not linearizing it.
        if k == "write":
            return op.value
        if k == "cas":
            return op.value if state == op.old else state
        if k == "create":
            return op.value if state is None else state
        if k == "delete":
            return None
        return state
    if k == "write":
        return op.value
    if k == "read":
        return state if state == op.result else _REJECT
    if k == "cas":
        if op.result:
            return op.value if state == op.old else _REJECT
        return state if state != op.old else _REJECT
    if k == "create":
        if op.result:
            return op.value if state is None else _REJECT
        return state if state is not None else _REJECT
    if k == "delete":
        if op.result:
            return None if state is not None else _REJECT
        return None if state is None else _REJECT
    raise ValueError(k)


class _Reject:
    def __repr__(self):
        return "REJECT"


_REJECT = _Reject()


# --------------------------------------------------------------------------
# The search

class _Deadline(Exception):
    pass


class _Entry:
    __slots__ = ("op_index", "is_call", "match", "prev", "next", "time")

    def __init__(self, op_index, is_call, time_):
        self.op_index = op_index
        self.is_call = is_call
        self.match = None
        self.prev = None
        self.next = None
        self.time = time_


def _relevant(ops: Iterable[Op]) -> list[Op]:
    """Drops ops that carry no constraint and no effect."""
    out = []
    for op in ops:
        if op.status == "fail":
            continue
        if op.status == "info" and op.kind == "read":
            continue
        out.append(op)
    return out


def _linearizable(ops: list[Op], initial, deadline: float) -> bool:
    """Wing & Gong / Lowe search over one key. Raises _Deadline."""
    n = len(ops)
    if n == 0:
        return True
    events = []
    for i, op in enumerate(ops):
        events.append((op.invoke, 0, i))
        if op.complete != INF:
            events.append((op.complete, 1, i))
    # At equal times calls sort before returns: treats touching operations as
    # concurrent, the conservative choice (no false alarms from clock ties).
    events.sort()
    head = _Entry(None, False, -INF)  # sentinel
    prev = head
    calls = [None] * n
    for t, kind, i in events:
        e = _Entry(i, kind == 0, t)
        if kind == 0:
            calls[i] = e
        else:
            calls[i].match = e
            e.match = calls[i]
        prev.next = e
        e.prev = prev
        prev = e

    def lift(call):
        call.prev.next = call.next
        if call.next:
            call.next.prev = call.prev
        r = call.match
        if r is not None:
            r.prev.next = r.next
            if r.next:
                r.next.prev = r.prev

    def unlift(call):
        r = call.match
        if r is not None:
            r.prev.next = r
            if r.next:
                r.next.prev = r
        call.prev.next = call
        if call.next:
            call.next.prev = call

    remaining_returns = sum(1 for op in ops if op.complete != INF)
    linearized = 0
    state = initial
    cache = set()
    stack = []
    entry = head.next
    steps = 0
    while True:
        if remaining_returns == 0:
            return True
        steps += 1
        if (steps & 1023) == 0 and time.monotonic() > deadline:
            raise _Deadline()
        if entry is None:
            # Only calls of indeterminate ops were left to try; nothing more
            # can be linearized here: backtrack.
            if not stack:
                return False
            call, state = stack.pop()
            linearized &= ~(1 << call.op_index)
            if call.match is not None:
                remaining_returns += 1
            unlift(call)
            entry = call.next
            continue
        if entry.is_call:
            op = ops[entry.op_index]
            new_state = step(state, op)
            if new_state is not _REJECT:
                new_lin = linearized | (1 << entry.op_index)
                key = (new_lin, new_state)
                if key not in cache:
                    cache.add(key)
                    stack.append((entry, state))
                    linearized = new_lin
                    state = new_state
                    if entry.match is not None:
                        remaining_returns -= 1
                    lift(entry)
                    entry = head.next
                    continue
            entry = entry.next
        else:
            # A return whose call is still in the list: that op must have
            # been linearized by now. Backtrack.
            if not stack:
                return False
            call, state = stack.pop()
            linearized &= ~(1 << call.op_index)
            if call.match is not None:
                remaining_returns += 1
            unlift(call)
            entry = call.next


# --------------------------------------------------------------------------
# Results and shrinking

@dataclass
class Result:
    status: str                      # "ok", "fail" or "unknown"
    key: Any = None                  # the failing (or timed-out) key
    witness: list = field(default_factory=list)  # small non-linearizable sub-history
    history_size: int = 0
    elapsed: float = 0.0
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def report(self) -> str:
        if self.status == "ok":
            return f"linearizable ({self.history_size} ops, {self.elapsed:.2f}s)"
        if self.status == "unknown":
            return f"unknown: {self.message}"
        t0 = min((op.invoke for op in self.witness), default=0.0)
        lines = [f"NOT linearizable: key {self.key!r}. {self.message}",
                 f"A sub-history of {len(self.witness)} ops that is by itself not linearizable "
                 f"(times in s relative to {t0:.4f}; [invoke, complete]):"]
        lines += ["  " + op.describe(t0) for op in sorted(self.witness, key=lambda o: o.invoke)]
        return "\n".join(lines)

    def __str__(self):
        return self.report()


def _check_key(ops: list[Op], initial, deadline: float) -> Optional[bool]:
    try:
        return _linearizable(_relevant(ops), initial, deadline)
    except _Deadline:
        return None


def _prefix(ops: list[Op], t: float) -> list[Op]:
    """The history as observed at time t: ops invoked after t are dropped,
    ops completing after t become indeterminate. Never less linearizable
    than the whole history."""
    out = []
    for op in ops:
        if op.invoke > t:
            continue
        if op.complete > t and op.status == "ok":
            op = replace(op, status="info", complete=INF)
        out.append(op)
    return out


def _minimize(ops: list[Op], removable, bad, deadline: float) -> list[Op]:
    """Delta-debugging style: removes blocks of removable ops (halving the
    block size when nothing can go) while bad() stays true."""
    idxs = [i for i, op in enumerate(ops) if removable(op, ops)]
    chunk = max(1, len(idxs) // 2)
    rounds = 0
    while idxs and time.monotonic() < deadline and rounds < 100000:
        rounds += 1
        progress = False
        for s in range(0, len(idxs), chunk):
            drop = set(idxs[s:s + chunk])
            cand = [op for i, op in enumerate(ops) if i not in drop]
            if bad(cand):
                ops = cand
                progress = True
                break
            if time.monotonic() >= deadline:
                break
        idxs = [i for i, op in enumerate(ops) if removable(op, ops)]
        if not progress:
            if chunk == 1:
                break
            chunk = max(1, chunk // 2)
        else:
            chunk = min(chunk, max(1, len(idxs)))
    return ops


def _constraint_only(op: Op, _ops=None) -> bool:
    """Ops whose removal only relaxes the history: successful reads and
    results that say "no effect" (412, 404-on-delete)."""
    return op.status == "ok" and (op.kind == "read" or
                                  (op.kind in ("cas", "create", "delete") and not op.result))


# Stands for "some value was present" in _observed_values: a successful
# delete or a refused create saw the key present without saying which value.
_PRESENT = object()


def _observed_values(ops: list[Op]) -> set:
    seen = set()
    for op in ops:
        if op.status != "ok":
            continue
        if op.kind == "read":
            seen.add(op.result)
        elif op.kind == "cas" and op.result:
            seen.add(op.old)
        elif op.kind == "delete":
            seen.add(_PRESENT if op.result else None)
        elif op.kind == "create":
            seen.add(None if op.result else _PRESENT)
    return seen


def _new_value(op: Op):
    return None if op.kind == "delete" else op.value


def _shrink(ops: list[Op], initial, deadline: float) -> list[Op]:
    """Returns a smaller history that is still not linearizable. Best
    effort until the deadline.

    Steps 1-2 only relax the history (a linearizable history stays
    linearizable), so their result is a faithful witness. Step 3 drops
    effects (writes, CAS, creates, deletes) to make the witness readable;
    it never drops an effect that produced a value some kept operation
    observed, so every observed value keeps all its possible sources."""
    ops = _relevant(ops)

    def bad(h):
        return _check_key(h, initial, deadline) is False

    # 1. Shortest failing time prefix (failure is monotone in t).
    times = sorted({op.complete for op in ops if op.complete != INF})
    if times:
        lo, hi = 0, len(times) - 1
        while lo < hi and time.monotonic() < deadline:
            mid = (lo + hi) // 2
            if bad(_prefix(ops, times[mid])):
                hi = mid
            else:
                lo = mid + 1
        cut = _relevant(_prefix(ops, times[hi]))
        if bad(cut):
            ops = cut

    for _ in range(2):
        # 2. Drop constraint-only ops.
        ops = _minimize(ops, _constraint_only, bad, deadline)

        # 3. Drop effects whose value no kept op observed.
        def unobserved_effect(op, cur):
            if _constraint_only(op) or op.kind == "read":
                return False
            observed = _observed_values(cur)
            value = _new_value(op)
            # Any write may be what a "present" observation saw.
            if value is not None and _PRESENT in observed:
                return False
            return value not in observed
        ops = _minimize(ops, unobserved_effect, bad, deadline)

    # 4. Indeterminate ops invoked after every constrained op completed can
    # be ordered last, i.e. they cannot matter: drop them (exact).
    last = max((op.complete for op in ops if op.complete != INF), default=-INF)
    ops = [op for op in ops if not (op.status == "info" and op.invoke > last)]
    return ops


def check(history: Iterable[Op], deadline: float = 30.0, initial: Optional[dict] = None,
          shrink_deadline: float = 10.0) -> Result:
    """Checks a multi-key history. `deadline` (seconds) bounds the search,
    after which the result is "unknown"; `initial` maps keys to their
    initial values (default: absent)."""
    t_start = time.monotonic()
    end = t_start + deadline
    by_key: dict = {}
    total = 0
    for i, op in enumerate(history):
        if op.id < 0:
            op = replace(op, id=i)
        by_key.setdefault(op.key, []).append(op)
        total += 1
    unknown = []
    for key in sorted(by_key, key=repr):
        ops = by_key[key]
        init = (initial or {}).get(key)
        verdict = _check_key(ops, init, end)
        if verdict is None:
            unknown.append(key)
            continue
        if verdict is False:
            witness = _shrink(ops, init, time.monotonic() + shrink_deadline)
            return Result("fail", key, witness, total, time.monotonic() - t_start,
                          f"{len(ops)} ops on this key; initial value "
                          f"{'absent' if init is None else repr(init)}.")
    if unknown:
        return Result("unknown", unknown[0], [], total, time.monotonic() - t_start,
                      f"search did not finish within {deadline}s for keys {unknown[:5]!r}")
    return Result("ok", None, [], total, time.monotonic() - t_start)


# --------------------------------------------------------------------------
# Building histories from HTTP outcomes

def op_from_http(kind: str, key, invoke: float, complete: float, status_code: Optional[int],
                 body: Optional[bytes] = None, value=None, old=None, client=None) -> Op:
    """Maps an HTTP exchange to an Op. status_code None means a client-side
    timeout or connection error (indeterminate)."""
    if status_code is None or status_code == 504:
        return Op(key, kind, invoke, INF, "info", value=value, old=old, client=client)
    if status_code == 503:
        return Op(key, kind, invoke, complete, "fail", value=value, old=old, client=client)
    if status_code == 200:
        if kind == "read":
            return Op(key, kind, invoke, complete, "ok", result=body, client=client)
        return Op(key, kind, invoke, complete, "ok", value=value, old=old,
                  result=True if kind != "write" else None, client=client)
    if status_code == 404 and kind == "read":
        return Op(key, kind, invoke, complete, "ok", result=None, client=client)
    if status_code == 404 and kind == "delete":
        return Op(key, kind, invoke, complete, "ok", result=False, client=client)
    if status_code == 412 and kind in ("cas", "create"):
        return Op(key, kind, invoke, complete, "ok", value=value, old=old, result=False,
                  client=client)
    # Anything else (400, 500, ...) is unexpected: the caller should treat it
    # as a test failure; as history it is indeterminate for writes.
    if kind == "read":
        return Op(key, kind, invoke, complete, "fail", client=client)
    return Op(key, kind, invoke, INF, "info", value=value, old=old, client=client)


def op_to_json(op: Op) -> dict:
    def enc(v):
        if isinstance(v, bytes):
            try:
                return v.decode("utf-8")
            except UnicodeDecodeError:
                return {"hex": v.hex()}
        return v
    return {"key": enc(op.key), "kind": op.kind, "invoke": op.invoke,
            "complete": None if op.complete == INF else op.complete, "status": op.status,
            "value": enc(op.value), "old": enc(op.old), "result": enc(op.result),
            "client": op.client}


def op_from_json(d: dict) -> Op:
    def dec(v):
        if isinstance(v, dict) and "hex" in v:
            return bytes.fromhex(v["hex"])
        return v
    c = d.get("complete")
    return Op(dec(d["key"]), d["kind"], float(d["invoke"]), INF if c is None else float(c),
              d.get("status", "ok"), value=dec(d.get("value")), old=dec(d.get("old")),
              result=dec(d.get("result")), client=d.get("client"))


def main(argv: list[str]) -> int:
    import argparse
    p = argparse.ArgumentParser(description="Check a JSON-lines register history.")
    p.add_argument("history")
    p.add_argument("--deadline", type=float, default=60.0)
    a = p.parse_args(argv)
    with open(a.history) as f:
        ops = [op_from_json(json.loads(line)) for line in f if line.strip()]
    r = check(ops, deadline=a.deadline)
    print(r.report())
    return {"ok": 0, "fail": 1, "unknown": 3}[r.status]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
