// Elections: Raft §5.2, §5.4.1; pre-vote (thesis §9.6); check-quorum and
// leader stickiness (thesis §6.2, §4.2.3).
#include <catch2/catch.hpp>

#include "helpers.h"

using namespace raftkv::core;
namespace pb = raftkv::pb;
using namespace raftkv::core::test;

namespace {

Options no_prevote(NodeId id) {
  Options o = default_options(id, {1, 2, 3});
  o.pre_vote = false;
  o.check_quorum = false;
  return o;
}

}  // namespace

TEST_CASE("a member votes at most once per term (§5.2)") {
  Core core(no_prevote(2), {});
  core.step(vote_request(1, 2, 1, 0, 0));
  Ready r = core.ready();
  bool after_persist = false;
  const pb::Message* answer = find_vote_response(r, &after_persist);
  REQUIRE(answer != nullptr);
  CHECK(answer->request_vote_response().granted());
  CHECK(after_persist);  // the grant promises a durable vote
  REQUIRE(r.hard_state);
  CHECK(r.hard_state->term() == 1);
  CHECK(r.hard_state->voted());
  CHECK(r.hard_state->vote() == 1);

  core.step(vote_request(3, 2, 1, 0, 0));
  r = core.ready();
  answer = find_vote_response(r);
  REQUIRE(answer != nullptr);
  CHECK_FALSE(answer->request_vote_response().granted());

  // The same candidate asking again gets the same answer.
  core.step(vote_request(1, 2, 1, 0, 0));
  answer = find_vote_response(r = core.ready());
  REQUIRE(answer != nullptr);
  CHECK(answer->request_vote_response().granted());
}

TEST_CASE("a vote needs a log at least as up to date (§5.4.1)") {
  auto voter = [] {
    return std::make_unique<Core>(no_prevote(2),
                                  PersistentState{{}, {}, entries_with_terms({1, 1, 2})});
  };
  struct Case {
    Index last_index;
    Term last_term;
    bool granted;
  };
  for (Case c : {Case{5, 1, false}, Case{2, 2, false}, Case{3, 2, true}, Case{1, 3, true},
                 Case{9, 2, true}}) {
    auto core = voter();
    core->step(vote_request(1, 2, 5, c.last_index, c.last_term));
    Ready r = core->ready();
    const pb::Message* answer = find_vote_response(r);
    REQUIRE(answer != nullptr);
    INFO("last index " << c.last_index << " last term " << c.last_term);
    CHECK(answer->request_vote_response().granted() == c.granted);
  }
}

TEST_CASE("a pre-vote changes no term or vote, and is sent before persisting") {
  Cluster c({1, 2, 3});
  c.isolate(1);
  for (int i = 0; i < 50; ++i) c.tick(1);
  CHECK(c.core(1).term() == 0);
  CHECK(c.core(1).role() == Role::kPreCandidate);
  CHECK(c.core(2).term() == 0);
  // The pre-vote requests went to `messages` with term + 1.
  bool saw_pre_vote = false;
  for (const auto& m : c.sent_log()) {
    if (m.has_request_vote() && m.request_vote().pre_vote()) {
      saw_pre_vote = true;
      CHECK(m.term() == 1);
    }
  }
  CHECK(saw_pre_vote);
}

TEST_CASE("a new leader's first entry is a no-op of its term (§8)") {
  Cluster c({1, 2, 3});
  c.elect(1);
  const auto& log = c.member(1).disk.entries;
  REQUIRE(log.size() == 1);
  CHECK(log.back().type() == pb::ENTRY_NOOP);
  CHECK(log.back().term() == c.core(1).term());
  CHECK(c.core(2).leader() == 1);
  CHECK(c.core(2).status().commit_index == 1);
}

TEST_CASE("a rejoining partitioned member does not disrupt a healthy leader (pre-vote)") {
  Cluster c({1, 2, 3});
  c.elect(1);
  const Term term = c.core(1).term();
  c.isolate(3);
  for (int i = 0; i < 60; ++i) c.tick_all();
  CHECK(c.core(3).term() == term);  // pre-votes did not bump it
  c.heal();
  for (int i = 0; i < 60; ++i) c.tick_all();
  CHECK(c.core(1).role() == Role::kLeader);
  CHECK(c.core(1).term() == term);
  CHECK(c.core(3).leader() == 1);
}

TEST_CASE("without pre-vote a rejoining member forces a new term") {
  Cluster c({1, 2, 3}, [](Options& o) { o.pre_vote = false; });
  c.elect(1);
  const Term term = c.core(1).term();
  c.isolate(3);
  for (int i = 0; i < 60; ++i) c.tick(3);
  CHECK(c.core(3).term() > term);
  c.heal();
  for (int i = 0; i < 60; ++i) c.tick_all();
  CHECK(c.core(1).term() > term);
}

TEST_CASE("followers in touch with a leader reject votes (leader stickiness)") {
  Cluster c({1, 2, 3});
  c.elect(1);
  const Term term = c.core(1).term();
  // A real vote for a much higher term, with a better log: still ignored.
  c.core(2).step(vote_request(3, 2, term + 5, 100, term + 4));
  c.process(2);
  CHECK(c.core(2).term() == term);
  CHECK(c.core(2).leader() == 1);
}

TEST_CASE("a leader that cannot reach a majority steps down (check-quorum)") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.isolate(1);
  for (int i = 0; i < 2 * 10 + 1; ++i) c.tick(1);
  CHECK(c.core(1).role() == Role::kFollower);
  CHECK(c.core(1).leader() == kNoNode);
}

TEST_CASE("a leader that hears from a majority stays (check-quorum)") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.isolate(3);
  for (int i = 0; i < 50; ++i) c.tick(1);
  CHECK(c.core(1).role() == Role::kLeader);
}

TEST_CASE("a member with a stale term cannot stall elections (etcd#8243)") {
  // 3 has a higher term but a shorter log: it can never win, and must not
  // keep 1 from winning.
  std::map<NodeId, Disk> disks;
  for (NodeId id : {1, 2}) {
    disks[id].hard_state.set_term(1);
    disks[id].entries = entries_with_terms({1, 1});
  }
  disks[3].hard_state.set_term(5);
  disks[3].entries = entries_with_terms({1});
  Cluster c({1, 2, 3}, disks);
  for (int i = 0; i < 100 && c.leader() == kNoNode; ++i) c.tick(1);
  CHECK(c.leader() == 1);
  CHECK(c.core(1).term() > 5);
  c.tick_all(3);
  CHECK(c.core(3).leader() == 1);
}

TEST_CASE("a higher term alone does not restart the election timer; a granted vote does") {
  // Figure 2: a follower's timer restarts on its leader's AppendEntries or
  // on granting a vote. Here 2 has waited 9 ticks (timeouts are 10-19) when
  // a candidate asks at a higher term: rejected (its log is behind), 2 still
  // campaigns within the rest of its timeout; granted, it waits a whole one.
  auto ticks_to_campaign_after_vote = [](std::uint64_t seed, Index last_index) {
    Options o = no_prevote(2);
    o.seed = seed;
    Core core(o, PersistentState{{}, {}, entries_with_terms({1, 1})});
    for (int i = 0; i < 9; ++i) core.tick();
    REQUIRE(core.role() == Role::kFollower);
    core.step(vote_request(3, 2, 5, last_index, 1));
    REQUIRE(core.term() == 5);
    int ticks = 0;
    while (core.role() == Role::kFollower && ticks < 100) {
      core.tick();
      ++ticks;
    }
    return ticks;
  };
  int rejected_max = 0;
  int rejected_min = 100;
  int granted_min = 100;
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    const int rejected = ticks_to_campaign_after_vote(seed, 1);
    rejected_max = std::max(rejected_max, rejected);
    rejected_min = std::min(rejected_min, rejected);
    granted_min = std::min(granted_min, ticks_to_campaign_after_vote(seed, 2));
  }
  CHECK(rejected_max <= 10);  // 19 - 9
  CHECK(rejected_min < 10);
  CHECK(granted_min >= 10);
}

TEST_CASE("a timed-out candidate goes back to pre-vote (canonical/raft#196)") {
  Cluster c({1, 2, 3});
  // 1 wins its pre-vote, then is cut off before the real election.
  c.drop = [](const pb::Message& m) {
    return m.has_request_vote() && !m.request_vote().pre_vote();
  };
  for (int i = 0; i < 25 && c.core(1).role() != Role::kCandidate; ++i) c.tick(1);
  REQUIRE(c.core(1).role() == Role::kCandidate);
  const Term term = c.core(1).term();
  c.isolate(1);
  for (int i = 0; i < 100; ++i) c.tick(1);
  CHECK(c.core(1).term() == term);
  CHECK(c.core(1).role() == Role::kPreCandidate);
}

TEST_CASE("votes from non-members with a log behind ours and messages for others are ignored") {
  Core core(no_prevote(2), PersistentState{{}, {}, entries_with_terms({1})});
  core.step(vote_request(9, 2, 2, 0, 0));
  core.step(vote_request(1, 3, 2, 1, 1));
  CHECK(core.term() == 0);
  CHECK_FALSE(core.has_ready());
  // A non-member as up to date may be a voter of a configuration this
  // member has not seen yet (membership changes): it is heard.
  core.step(vote_request(9, 2, 2, 1, 1));
  CHECK(core.term() == 2);
}

TEST_CASE("member id 0 is a valid member and vote") {
  Cluster c({0, 1, 2});
  c.elect(0);
  CHECK(c.core(1).leader() == 0);
  CHECK(c.member(1).disk.hard_state.voted());
  CHECK(c.member(1).disk.hard_state.vote() == 0);
  c.restart(1);
  CHECK(c.core(1).status().vote == 0);
  CHECK(c.core(1).role() == Role::kFollower);
}

TEST_CASE("a restarted member recovers term, vote and log; commit starts at 0") {
  Cluster c({1, 2, 3});
  c.elect(1);
  REQUIRE(c.core(2).propose("x") == ProposeResult::kAccepted);
  c.stabilize();
  c.tick_all();
  const Term term = c.core(2).term();
  c.restart(2);
  Status s = c.core(2).status();
  CHECK(s.term == term);
  CHECK(s.vote == 1);
  CHECK(s.last_log_index == 2);
  CHECK(s.commit_index == 0);
  CHECK(s.role == Role::kFollower);
  c.tick_all(2);
  CHECK(c.core(2).status().commit_index == 2);
  CHECK(c.member(2).applied.size() == 2);  // re-applied from the start
}

TEST_CASE("fault forget_to_persist_vote: the vote is not persisted and granted at once") {
  Options o = no_prevote(2);
  o.faults.forget_to_persist_vote = true;
  Core core(o, {});
  core.step(vote_request(1, 2, 1, 0, 0));
  Ready r = core.ready();
  bool after_persist = true;
  const pb::Message* answer = find_vote_response(r, &after_persist);
  REQUIRE(answer != nullptr);
  CHECK(answer->request_vote_response().granted());
  CHECK_FALSE(after_persist);
  REQUIRE(r.hard_state);
  CHECK_FALSE(r.hard_state->voted());
  // After a restart from that hard state it votes again in the same term.
  Core restarted(o, PersistentState{*r.hard_state, {}, {}});
  restarted.step(vote_request(3, 2, 1, 0, 0));
  answer = find_vote_response(r = restarted.ready());
  REQUIRE(answer != nullptr);
  CHECK(answer->request_vote_response().granted());
}

TEST_CASE("same seed, same inputs: same outputs (determinism)") {
  auto run = [] {
    Cluster c({1, 2, 3, 4, 5});
    for (int i = 0; i < 40; ++i) {
      c.tick_all();
      if (c.leader() != kNoNode) c.core(c.leader()).propose("v" + std::to_string(i));
      if (i == 20) c.isolate(c.leader());
    }
    std::string trace;
    for (const auto& m : c.sent_log()) trace += m.SerializeAsString();
    return trace;
  };
  const std::string a = run();
  CHECK(!a.empty());
  CHECK(a == run());
}

TEST_CASE("election timeouts are drawn from [election_ticks, 2 * election_ticks)") {
  int min_ticks = 1000;
  int max_ticks = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    Options o = default_options(1, {1, 2, 3});
    o.seed = seed;
    Core core(o, {});
    int ticks = 0;
    while (core.role() == Role::kFollower) {
      core.tick();
      ++ticks;
    }
    min_ticks = std::min(min_ticks, ticks);
    max_ticks = std::max(max_ticks, ticks);
  }
  CHECK(min_ticks == 10);
  CHECK(max_ticks == 19);
}
