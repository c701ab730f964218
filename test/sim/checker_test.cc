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

TEST_CASE("only the first violation is kept") {
  Checker c(2);
  c.fail("Liveness", "first");
  c.fail("Other", "second");
  CHECK(c.violation()->detail == "first");
}

}  // namespace
}  // namespace raftkv::sim
