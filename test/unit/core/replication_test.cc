// Log replication and commitment: Raft §5.3, §5.4.2, figures 7 and 8;
// batching, pipelining, probing, fast back-tracking, persistence rules.
#include <catch2/catch.hpp>

#include "core/log.h"
#include "helpers.h"

using namespace raftkv::core;
namespace pb = raftkv::pb;
using namespace raftkv::core::test;

namespace {

std::map<NodeId, Disk> disks_with(const std::map<NodeId, std::vector<Term>>& logs, Term term) {
  std::map<NodeId, Disk> disks;
  for (const auto& [id, terms] : logs) {
    disks[id].hard_state.set_term(std::max<Term>(term, terms.empty() ? 0 : terms.back()));
    disks[id].entries = entries_with_terms(terms);
  }
  return disks;
}

int rejections_from(Cluster& c, NodeId from) {
  int n = 0;
  for (const auto& m : c.sent_log()) {
    if (m.from() == from && m.has_append_entries_response() &&
        !m.append_entries_response().success()) {
      ++n;
    }
  }
  return n;
}

}  // namespace

TEST_CASE("the leader repairs every follower of figure 7 (§5.3)") {
  const std::vector<Term> leader = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
  const std::map<char, std::vector<Term>> followers = {
      {'a', {1, 1, 1, 4, 4, 5, 5, 6, 6}},
      {'b', {1, 1, 1, 4}},
      {'c', {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6}},
      {'d', {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}},
      {'e', {1, 1, 1, 4, 4, 4, 4}},
      {'f', {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}},
  };
  for (const auto& [name, follower] : followers) {
    INFO("follower (" << name << ")");
    // 2 has the leader's log so that 1 can win term 8 whatever 3 holds.
    Cluster c({1, 2, 3}, disks_with({{1, leader}, {2, leader}, {3, follower}}, 7));
    c.elect(1);
    CHECK(c.core(1).term() == 8);
    c.tick_all(2);
    std::vector<Term> expected = leader;
    expected.push_back(8);
    CHECK(terms_of(c.member(3).disk.entries) == expected);
    CHECK(c.core(3).status().commit_index == 11);
    CHECK(c.member(3).applied.size() == 11);
  }
}

TEST_CASE("fast back-tracking skips a conflicting term in one round trip") {
  Cluster c(
      {1, 2, 3},
      disks_with(
          {{1, {1, 1, 3, 3, 3, 3}}, {2, {1, 1, 3, 3, 3, 3}}, {3, {1, 1, 2, 2, 2, 2, 2, 2, 2}}}, 3));
  c.elect(1);
  CHECK(rejections_from(c, 3) == 1);
  CHECK(terms_of(c.member(3).disk.entries) == std::vector<Term>{1, 1, 3, 3, 3, 3, 4});
}

namespace {

// Figure 8 (c): S1 leads term 4 with [1, 2]. S2 and S3 get index 2 (term 2)
// and S1's no-op (index 3), but the no-op is not durable on S1 yet: a
// majority (S1, S2, S3) stores index 2, only a minority the no-op.
Cluster figure8(bool fault) {
  Cluster c({1, 2, 3, 4, 5},
            disks_with({{1, {1, 2}}, {2, {1, 2}}, {3, {1}}, {4, {1}}, {5, {1, 3}}}, 3),
            [fault](Options& o) {
              o.faults.commit_prior_term_by_count = fault;
              o.max_append_bytes = 1;  // one entry per message
            });
  c.member(1).auto_persist = false;
  // 4 and 5 hear nothing from S1 after the election.
  c.drop = [](const pb::Message& m) {
    return (m.to() == 4 || m.to() == 5) && m.has_append_entries();
  };
  for (int i = 0; i < 100 && c.core(1).role() != Role::kLeader; ++i) {
    c.core(1).tick();
    c.stabilize();
    c.persist(1);  // votes and terms are durable; see below for entries
    c.stabilize();
  }
  REQUIRE(c.core(1).term() == 4);
  return c;
}

}  // namespace

TEST_CASE("an entry of an earlier term is not committed by counting replicas (figure 8)") {
  Cluster c = figure8(false);
  c.core(1).tick();
  c.stabilize();
  REQUIRE(terms_of(c.member(3).disk.entries) == std::vector<Term>{1, 2, 4});
  CHECK(c.core(1).status().commit_index == 0);
}

TEST_CASE("fault commit_prior_term_by_count commits it (figure 8)") {
  Cluster c = figure8(true);
  c.core(1).tick();
  c.stabilize();
  REQUIRE(terms_of(c.member(3).disk.entries) == std::vector<Term>{1, 2, 4});
  CHECK(c.core(1).status().commit_index == 2);
}

TEST_CASE("earlier-term entries commit with the first entry of the current term") {
  Cluster c({1, 2, 3}, disks_with({{1, {1, 2}}, {2, {1}}, {3, {1}}}, 2));
  c.elect(1);
  c.tick_all();
  CHECK(c.core(1).status().commit_index == 3);
  CHECK(terms_of(c.member(2).applied) == std::vector<Term>{1, 2, 3});
}

TEST_CASE("AppendEntries batch entries up to max_append_bytes") {
  const std::size_t per_entry = 10 + kEntryOverhead;
  Cluster c({1, 2, 3}, [per_entry](Options& o) { o.max_append_bytes = 3 * per_entry; });
  c.elect(1);
  for (int i = 0; i < 10; ++i) {
    REQUIRE(c.core(1).propose(std::string(10, 'x')) == ProposeResult::kAccepted);
  }
  c.process(1);
  std::vector<int> sizes;
  for (const auto& m : take_to(c, 2, pb::Message::kAppendEntries)) {
    sizes.push_back(m.append_entries().entries_size());
  }
  // All ten proposals leave in one Ready, three per message.
  CHECK(sizes == std::vector<int>{3, 3, 3, 1});
  c.stabilize();
  CHECK(c.core(1).status().commit_index == 11);
}

TEST_CASE("the pipelining window is bounded by message count") {
  Cluster c({1, 2, 3}, [](Options& o) {
    o.max_append_bytes = 1;  // one entry per message
    o.max_inflight_messages = 2;
  });
  c.elect(1);
  for (int i = 0; i < 5; ++i) c.core(1).propose("abc");
  c.process(1);
  CHECK(count_appends_with_entries(c, 2) == 2);
  c.stabilize();  // acks open the window again until all is sent
  CHECK(c.core(1).status().commit_index == 6);
  CHECK(c.member(2).disk.entries.size() == 6);
}

TEST_CASE("the pipelining window is bounded by bytes") {
  const std::size_t per_entry = 100 + kEntryOverhead;
  Cluster c({1, 2, 3}, [per_entry](Options& o) {
    o.max_append_bytes = 1;
    o.max_inflight_messages = 100;
    o.max_inflight_bytes = 3 * per_entry;
  });
  c.elect(1);
  for (int i = 0; i < 6; ++i) c.core(1).propose(std::string(100, 'y'));
  c.process(1);
  CHECK(count_appends_with_entries(c, 2) == 3);
  c.stabilize();
  CHECK(c.core(1).status().commit_index == 7);
}

TEST_CASE("after a rejection the leader probes with one message in flight") {
  Cluster c({1, 2, 3}, [](Options& o) { o.max_append_bytes = 1; });
  c.elect(1);
  // 3 misses one append, so the next one is rejected.
  bool dropped = false;
  c.drop = [&dropped](const pb::Message& m) {
    if (m.to() != 3 || !m.has_append_entries()) return false;
    if (m.append_entries().entries_size() == 0) return true;  // no heartbeat hints either
    if (dropped) return false;
    dropped = true;
    return true;
  };
  c.core(1).propose("a");
  c.stabilize();
  c.core(1).propose("b");
  c.stabilize();
  c.drop = nullptr;
  CHECK(rejections_from(c, 3) == 1);
  // Rejection -> probe; then the probe succeeded -> replicate again.
  CHECK(c.member(3).disk.entries.size() == 3);

  // While probing, only one message is in flight.
  c.drop = [](const pb::Message& m) { return m.to() == 3 && m.has_append_entries(); };
  c.core(1).propose("c");
  c.stabilize();
  c.drop = nullptr;
  for (int i = 0; i < 10; ++i) c.core(1).tick();  // stall timer: back to probing
  c.process(1);
  Status s = c.core(1).status();
  REQUIRE(s.peers.size() == 2);
  CHECK(s.peers[1].id == 3);
  CHECK(s.peers[1].probing);
  CHECK(count_appends_with_entries(c, 3) == 1);  // the probe
  c.queue().clear();                             // ... is lost
  for (int i = 0; i < 3; ++i) c.core(1).propose("more");
  c.process(1);
  CHECK(count_appends_with_entries(c, 3) == 0);  // nothing more until an answer
  c.stabilize();
  c.tick_all(2);
  CHECK(c.member(3).disk.entries.size() == 7);
  CHECK_FALSE(c.core(1).status().peers[1].probing);
}

TEST_CASE("the leader counts its own log only after on_persisted") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.member(1).auto_persist = false;
  c.drop = [](const pb::Message& m) { return m.to() == 3 || m.from() == 3; };
  c.core(1).propose("x");
  c.stabilize();
  CHECK(c.member(2).disk.entries.size() == 2);
  CHECK(c.core(1).status().commit_index == 1);  // 2 alone is no majority
  c.persist(1);
  CHECK(c.core(1).status().commit_index == 2);
}

TEST_CASE("a single member commits once its write is durable") {
  Cluster c({1});
  c.member(1).auto_persist = false;
  for (int i = 0; i < 30 && c.core(1).role() != Role::kCandidate; ++i) {
    c.core(1).tick();
    c.process(1);
  }
  // It leads only once its vote for itself is durable.
  REQUIRE(c.core(1).role() == Role::kCandidate);
  c.core(1).tick();
  c.process(1);
  CHECK(c.core(1).role() == Role::kCandidate);
  c.persist(1);
  REQUIRE(c.core(1).role() == Role::kLeader);
  c.process(1);  // the no-op
  CHECK(c.core(1).status().commit_index == 0);
  c.persist(1);
  CHECK(c.core(1).status().commit_index == 1);
  c.core(1).propose("x");
  c.process(1);
  CHECK(c.core(1).status().commit_index == 1);
  c.persist(1);
  CHECK(c.core(1).status().commit_index == 2);
  c.process(1);
  CHECK(c.member(1).applied.size() == 2);
}

TEST_CASE("committed entries are handed out only up to the persisted index") {
  Cluster c({1, 2, 3});
  c.elect(1);
  SECTION("on the leader") {
    c.member(1).auto_persist = false;
    c.core(1).propose("x");
    c.stabilize();
    c.tick_all();
    CHECK(c.core(1).status().commit_index == 2);  // followers made it
    CHECK(c.member(1).applied.size() == 1);
    c.persist(1);
    c.process(1);
    CHECK(c.member(1).applied.size() == 2);
  }
  SECTION("on a follower") {
    c.member(3).auto_persist = false;
    c.core(1).propose("x");
    c.stabilize();  // committed by 1 and 2; 3 holds x but has not acked it
    c.core(1).propose("y");
    c.stabilize();  // carries leader_commit 2
    CHECK(c.core(3).status().commit_index == 2);
    CHECK(c.member(3).applied.size() == 1);
    c.persist(3);
    c.process(3);
    CHECK(c.member(3).applied.size() >= 2);
  }
  // Each committed entry exactly once, in order.
  c.persist(1);
  c.persist(3);
  c.stabilize();
  c.tick_all(2);
  for (NodeId id : {1, 2, 3}) {
    const auto& applied = c.member(id).applied;
    CHECK(applied.size() == c.core(id).status().commit_index);
    for (std::size_t i = 0; i < applied.size(); ++i) CHECK(applied[i].index() == i + 1);
  }
}

TEST_CASE("a follower forwards proposals to the leader") {
  Cluster c({1, 2, 3});
  c.elect(1);
  REQUIRE(c.core(2).propose("from-2") == ProposeResult::kAccepted);
  REQUIRE(c.core(2).propose("again") == ProposeResult::kAccepted);
  c.process(2);
  auto props = take_to(c, 1, pb::Message::kPropose);
  REQUIRE(props.size() == 1);  // one message for both
  CHECK(props[0].propose().entries_size() == 2);
  c.stabilize();
  c.tick_all();
  const auto& applied = c.member(3).applied;
  REQUIRE(applied.size() == 3);
  CHECK(applied[1].data() == "from-2");
  CHECK(applied[2].data() == "again");
}

TEST_CASE("propose without a known leader returns kNoLeader") {
  Cluster c({1, 2, 3});
  CHECK(c.core(1).propose("x") == ProposeResult::kNoLeader);
  CHECK_FALSE(c.core(1).has_ready());
}

TEST_CASE("the leader refuses proposals past max_uncommitted_bytes") {
  Cluster c({1, 2, 3}, [](Options& o) { o.max_uncommitted_bytes = 250; });
  c.elect(1);
  c.isolate(1);
  CHECK(c.core(1).propose(std::string(100, 'a')) == ProposeResult::kAccepted);
  CHECK(c.core(1).propose(std::string(100, 'b')) == ProposeResult::kAccepted);
  CHECK(c.core(1).propose(std::string(100, 'c')) == ProposeResult::kBackPressure);
  c.heal();
  c.stabilize();
  CHECK(c.core(1).propose(std::string(100, 'c')) == ProposeResult::kAccepted);
}

TEST_CASE("a stale leader learns the new term from a follower's answer") {
  Cluster c({1, 2, 3}, [](Options& o) { o.check_quorum = false; });
  c.elect(1);
  c.isolate(1);
  c.elect(2);
  c.heal();
  c.tick(1);
  CHECK(c.core(1).role() == Role::kFollower);
  CHECK(c.core(1).term() == c.core(2).term());
}

TEST_CASE("status lists peers on the leader") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.tick_all();
  Status s = c.core(1).status();
  CHECK(s.role == Role::kLeader);
  CHECK(s.voters == std::vector<NodeId>{1, 2, 3});
  REQUIRE(s.peers.size() == 2);
  CHECK(s.peers[0].match == 1);
  CHECK(s.peers[0].next == 2);
  CHECK_FALSE(s.peers[0].probing);
  CHECK(s.peers[0].recently_active);
  CHECK(c.core(2).status().peers.empty());
}

namespace {

// Member `id` stops, and its recovery cuts `lost` entries off the end of its
// log (a torn tail): it no longer holds entries it acknowledged durably.
void lose_tail(Cluster& c, NodeId id, std::size_t lost) {
  auto& entries = c.member(id).disk.entries;
  entries.resize(entries.size() - lost);
  c.restart(id);
}

Index match_of(Cluster& c, NodeId leader, NodeId peer) {
  for (const PeerStatus& p : c.core(leader).status().peers) {
    if (p.id == peer) return p.match;
  }
  return 0;
}

}  // namespace

TEST_CASE("a follower that lost part of its acknowledged log is probed and caught up") {
  Cluster c({1, 2, 3});
  c.elect(1);
  for (int i = 0; i < 5; ++i) c.core(1).propose("a" + std::to_string(i));
  c.stabilize();
  c.tick_all();
  REQUIRE(match_of(c, 1, 3) == 6);
  c.isolate(3);
  lose_tail(c, 3, 1);
  for (int i = 0; i < 3; ++i) c.core(1).propose("b" + std::to_string(i));
  c.stabilize();
  c.tick(1, 12);  // the appends to 3 are lost: the stall timer probes it
  const Index commit_before = c.core(1).status().commit_index;
  c.heal();
  for (int i = 0; i < 5; ++i) {
    c.tick_all();
    CHECK(c.core(1).status().commit_index >= commit_before);  // never backwards
  }
  CHECK(c.core(3).status().last_log_index == 9);
  CHECK(c.core(3).status().commit_index == 9);
  CHECK(terms_of(c.member(3).disk.entries) == terms_of(c.member(1).disk.entries));
  CHECK(match_of(c, 1, 3) == 9);
}

TEST_CASE("a follower that lost acknowledged entries no longer counts for them") {
  // 2 is cut off; 1's own write is not durable yet, so 3's acknowledgement
  // of index 2 alone cannot commit it.
  Cluster c({1, 2, 3});
  c.elect(1);
  c.tick_all();
  c.isolate(2);
  c.member(1).auto_persist = false;
  c.core(1).propose("x");
  c.stabilize();
  REQUIRE(match_of(c, 1, 3) == 2);
  REQUIRE(c.core(1).status().commit_index == 1);
  lose_tail(c, 3, 1);  // 3 loses index 2, which it acknowledged
  // 3 rejects the next heartbeat (anchored at its old match); the leader's
  // probe that would repair it is lost.
  c.drop = [](const pb::Message& m) {
    return m.to() == 3 && m.has_append_entries() && m.append_entries().entries_size() > 0;
  };
  c.tick(1);
  CHECK(match_of(c, 1, 3) < 2);
  c.persist(1);
  c.stabilize();
  CHECK(c.core(1).status().commit_index == 1);  // 1 alone holds index 2
  c.drop = nullptr;
  c.tick(1, 2);
  c.persist(1);
  c.stabilize();
  CHECK(c.core(1).status().commit_index == 2);
  CHECK(c.member(3).disk.entries.size() == 2);
}
