// Unit tests of the simulator's checkers: each property is fed a hand-made
// history that violates it (the checker must report it) and a legal one (it
// must not). A checker never shown to fail proves nothing.
#include <catch2/catch.hpp>

#include "checker.h"
#include "shadow_log.h"

namespace raftkv::sim {
namespace {

pb::Entry entry(Index index, Term term, const std::string& data) {
  pb::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(data);
  return e;
}

ShadowLog make_log(const std::vector<pb::Entry>& entries) {
  ShadowLog log;
  REQUIRE(log.write(entries));
  return log;
}

std::string property(const Checker& c) {
  return c.violation() ? c.violation()->property : "";
}

TEST_CASE("shadow log truncates a conflicting suffix and rejects gaps") {
  ShadowLog log = make_log({entry(1, 1, "a"), entry(2, 1, "b"), entry(3, 1, "c")});
  REQUIRE(log.write({entry(2, 2, "x")}));
  CHECK(log.last() == 2);
  CHECK(log.at(2).data() == "x");
  CHECK_FALSE(log.write({entry(4, 2, "gap")}));
  CHECK_FALSE(log.write({entry(3, 2, "a"), entry(5, 2, "b")}));
  CHECK(log.last() == 2);
}

TEST_CASE("Election Safety: two leaders in one term") {
  Checker c(3);
  ShadowLog empty;
  c.on_leader(0, 5, empty);
  c.on_leader(0, 5, empty);  // the same leader reported twice is fine
  c.on_leader(1, 6, empty);
  CHECK_FALSE(c.violation());
  c.on_leader(2, 5, empty);
  CHECK(property(c) == "Election Safety");
}

TEST_CASE("Leader Append-Only: a leader truncating its own log") {
  Checker c(3);
  c.on_write(0, true, 4, 3);   // appending
  c.on_write(1, false, 2, 3);  // a follower truncating
  CHECK_FALSE(c.violation());
  c.on_write(0, true, 3, 3);
  CHECK(property(c) == "Leader Append-Only");
}

TEST_CASE("Log Matching: same index and term, different prefixes") {
  Checker c(3);
  ShadowLog a = make_log({entry(1, 1, "a"), entry(2, 2, "b")});
  ShadowLog b = make_log({entry(1, 1, "a"), entry(2, 2, "b"), entry(3, 2, "c")});
  c.on_log_written(0, a, 1);
  c.on_log_written(1, b, 1);
  CHECK_FALSE(c.violation());
  ShadowLog bad = make_log({entry(1, 1, "other"), entry(2, 2, "b")});
  c.on_log_written(2, bad, 2);  // only index 2 was written, but its prefix differs
  CHECK(property(c) == "Log Matching");
}

TEST_CASE("Log Matching: same index and term, different payload") {
  Checker c(2);
  c.on_log_written(0, make_log({entry(1, 3, "a")}), 1);
  c.on_log_written(1, make_log({entry(1, 3, "b")}), 1);
  CHECK(property(c) == "Log Matching");
}

TEST_CASE("State Machine Safety: different entries applied at one index") {
  Checker c(3);
  c.on_apply(0, entry(1, 1, "a"));
  c.on_apply(1, entry(1, 1, "a"));
  c.on_crash(1);
  c.on_apply(1, entry(1, 1, "a"));  // a restarted member re-applies from 1
  CHECK_FALSE(c.violation());
  c.on_apply(2, entry(1, 2, "a"));
  CHECK(property(c) == "State Machine Safety");
}

TEST_CASE("State Machine Safety: applying out of order") {
  Checker c(2);
  c.on_apply(0, entry(1, 1, "a"));
  c.on_apply(0, entry(3, 1, "c"));
  CHECK(property(c) == "State Machine Safety (apply order)");
}

TEST_CASE("Leader Completeness: the figure-8 overwrite") {
  // Term-2 entry at index 2 applied (committed), then a leader of term 4
  // whose log holds a term-3 entry there.
  Checker c(5);
  c.on_apply(0, entry(1, 1, "x"));
  c.on_apply(0, entry(2, 2, "y"));
  ShadowLog good = make_log({entry(1, 1, "x"), entry(2, 2, "y"), entry(3, 4, "")});
  c.on_leader(0, 4, good);
  CHECK_FALSE(c.violation());
  ShadowLog bad = make_log({entry(1, 1, "x"), entry(2, 3, "z")});
  c.on_leader(4, 5, bad);
  CHECK(property(c) == "Leader Completeness");
}

TEST_CASE("Leader Completeness: a leader missing committed entries") {
  Checker c(3);
  c.on_apply(1, entry(1, 1, "x"));
  c.on_leader(2, 2, ShadowLog{});
  CHECK(property(c) == "Leader Completeness");
}

TEST_CASE("Linearizable reads: a stale ReadState from a deposed leader") {
  Checker c(3);
  c.on_read_requested(0, 1);  // nothing committed yet: any index is fine
  c.on_read_state(0, 1, 0);
  c.on_apply(1, entry(1, 2, "w1"));
  c.on_apply(1, entry(2, 2, "w2"));
  c.on_read_requested(0, 2);  // index 2 committed elsewhere at request time
  c.on_read_state(0, 2, 2);
  CHECK_FALSE(c.violation());
  c.on_read_requested(2, 3);
  c.on_read_state(2, 3, 1);  // answered from the old leader's commit point
  CHECK(property(c) == "Linearizable Read");
}

TEST_CASE("Linearizable reads: an answer to a read never asked there") {
  Checker c(3);
  c.on_read_requested(0, 7);
  c.on_read_state(1, 7, 5);
  CHECK(property(c) == "Linearizable Read (routing)");
}

TEST_CASE("Dropped Proposal: a proposal reported dropped is committed later") {
  Checker c(3);
  c.on_dropped(1, "c2");
  c.on_apply(0, entry(1, 1, "c1"));
  CHECK_FALSE(c.violation());
  c.on_apply(0, entry(2, 1, "c2"));
  CHECK(property(c) == "Dropped Proposal");
}

TEST_CASE("Dropped Proposal: a committed proposal is reported dropped") {
  Checker c(3);
  c.on_apply(0, entry(1, 1, "c1"));
  c.on_dropped(2, "c1");
  CHECK(property(c) == "Dropped Proposal");
}

// The state of a machine that applied `entries` in order.
StateMachine state_after(const std::vector<pb::Entry>& entries) {
  StateMachine state;
  for (const pb::Entry& e : entries) state.apply(e);
  return state;
}

Snapshot snapshot_of(const std::vector<pb::Entry>& entries) {
  Snapshot s;
  s.state = state_after(entries);
  s.meta.set_index(entries.empty() ? 0 : entries.back().index());
  s.meta.set_term(entries.empty() ? 0 : entries.back().term());
  return s;
}

TEST_CASE("shadow log after a snapshot point: base, writes above it only") {
  ShadowLog log;
  const StateMachine base = state_after({entry(1, 1, "a"), entry(2, 2, "b")});
  log.reset(2, 2, base.hash, {entry(1, 1, "a"), entry(2, 2, "b"), entry(3, 2, "c")});
  CHECK(log.base() == 2);
  CHECK(log.last() == 3);
  CHECK(log.term_at(2) == 2);
  CHECK_FALSE(log.holds(2));
  // The same chain as a log that holds every entry.
  CHECK(log.prefix_hash(3) ==
        make_log({entry(1, 1, "a"), entry(2, 2, "b"), entry(3, 2, "c")}).prefix_hash(3));
  CHECK_FALSE(log.write({entry(2, 3, "x")}));  // at or below the base
  CHECK(log.write({entry(3, 3, "y")}));
  // An entry of another history at the snapshot point: nothing after it is kept.
  log.reset(2, 2, base.hash, {entry(2, 1, "z"), entry(3, 2, "c")});
  CHECK(log.last() == 2);
}

TEST_CASE("State Machine Safety: a state that differs from the committed log's") {
  Checker c(2);
  const auto a = entry(1, 1, "a");
  const auto b = entry(2, 1, "b");
  c.on_apply(0, a, state_after({a}));
  c.on_apply(0, b, state_after({a, b}));
  c.on_apply(1, a, state_after({a}));
  CHECK_FALSE(c.violation());
  // Member 1's state came from elsewhere (a bad snapshot): same entry, wrong state.
  c.on_apply(1, b, state_after({entry(1, 1, "other"), b}));
  CHECK(property(c) == "State Machine Safety (state)");
}

TEST_CASE("Snapshot Safety: a snapshot of an uncommitted entry") {
  Checker c(3);
  const std::vector<pb::Entry> log = {entry(1, 1, "a"), entry(2, 1, "b"), entry(3, 2, "c")};
  c.on_apply(0, log[0]);
  c.on_apply(0, log[1]);
  c.on_snapshot(0, snapshot_of({log[0], log[1]}), "took");
  CHECK_FALSE(c.violation());
  c.on_snapshot(1, snapshot_of(log), "took");  // index 3 is not committed
  CHECK(property(c) == "Snapshot Safety");
}

TEST_CASE("Snapshot Safety: metadata that does not describe the state") {
  Checker c(3);
  const std::vector<pb::Entry> log = {entry(1, 1, "a"), entry(2, 1, "b"), entry(3, 2, "c")};
  for (const auto& e : log) c.on_apply(0, e);
  SECTION("the state of index 2 claiming index 3 (one past applied)") {
    Snapshot s = snapshot_of({log[0], log[1]});
    s.meta.set_index(3);
    s.meta.set_term(2);
    c.on_snapshot(1, s, "took");
    CHECK(property(c) == "Snapshot Safety");
  }
  SECTION("a wrong term") {
    Snapshot s = snapshot_of(log);
    s.meta.set_term(1);
    c.on_snapshot(1, s, "took");
    CHECK(property(c) == "Snapshot Safety");
  }
  SECTION("a state of another history") {
    Snapshot s = snapshot_of({log[0], entry(2, 1, "x"), log[2]});
    c.on_snapshot(1, s, "installed");
    CHECK(property(c) == "Snapshot Safety");
  }
}

TEST_CASE("Snapshot Safety: a state loaded from a snapshot applies from its index") {
  Checker c(3);
  const std::vector<pb::Entry> log = {entry(1, 1, "a"), entry(2, 1, "b"), entry(3, 2, "c")};
  for (const auto& e : log) c.on_apply(0, e);
  c.on_crash(1);
  c.on_state_loaded(1, snapshot_of({log[0], log[1]}), "restarted from");
  c.on_apply(1, log[2], state_after(log));
  CHECK_FALSE(c.violation());
  c.on_crash(2);
  c.on_state_loaded(2, snapshot_of({log[0]}), "installed");
  c.on_apply(2, log[2]);  // skips index 2
  CHECK(property(c) == "State Machine Safety (apply order)");
}

TEST_CASE("Leader Completeness: a leader whose log starts at a snapshot") {
  Checker c(3);
  const std::vector<pb::Entry> log = {entry(1, 1, "a"), entry(2, 1, "b"), entry(3, 2, "c")};
  for (const auto& e : log) c.on_apply(0, e);
  ShadowLog good;
  good.reset(2, 1, state_after({log[0], log[1]}).hash, {log[2]});
  c.on_leader(1, 3, good);
  CHECK_FALSE(c.violation());
  ShadowLog short_of_commit;
  short_of_commit.reset(2, 1, state_after({log[0], log[1]}).hash, {});
  c.on_leader(2, 4, short_of_commit);
  CHECK(property(c) == "Leader Completeness");
}

TEST_CASE("Leader Completeness: a leader whose snapshot is of another history") {
  Checker c(3);
  const std::vector<pb::Entry> log = {entry(1, 1, "a"), entry(2, 1, "b"), entry(3, 2, "c")};
  for (const auto& e : log) c.on_apply(0, e);
  ShadowLog bad;
  bad.reset(2, 1, state_after({log[0], entry(2, 1, "x")}).hash, {log[2]});
  c.on_leader(1, 3, bad);
  CHECK(property(c) == "Leader Completeness");
}

TEST_CASE("only the first violation is kept") {
  Checker c(2);
  c.fail("Liveness", "first");
  c.fail("Other", "second");
  CHECK(c.violation()->detail == "first");
}

}  // namespace
}  // namespace raftkv::sim
