// Membership changes, one server at a time (thesis §4.1, §4.4): learners,
// promotion, removal, rollback, the one-change and own-term rules, and
// members outside the configuration that must not disrupt it.
#include <catch2/catch.hpp>

#include "core/membership.h"
#include "helpers.h"

using namespace raftkv::core;
namespace pb = raftkv::pb;
using namespace raftkv::core::test;

namespace {

pb::ConfChange change(pb::ConfChange::Type type, NodeId id, const std::string& raft = "") {
  pb::ConfChange c;
  c.set_type(type);
  c.mutable_member()->set_id(id);
  c.mutable_member()->set_raft_address(raft);
  c.set_origin(1);
  c.set_request_id(77);
  return c;
}

pb::ConfChange add_learner(NodeId id, const std::string& raft = "") {
  return change(pb::ConfChange::ADD_LEARNER, id, raft);
}
pb::ConfChange promote(NodeId id) {
  return change(pb::ConfChange::PROMOTE, id);
}
pb::ConfChange remove(NodeId id) {
  return change(pb::ConfChange::REMOVE, id);
}

bool is_voter(const pb::ClusterConfig& config, NodeId id) {
  const pb::Member* m = find_member(config, id);
  return m && !m->learner();
}

bool is_learner(const pb::ClusterConfig& config, NodeId id) {
  const pb::Member* m = find_member(config, id);
  return m && m->learner();
}

void manual_promotion(Options& o) {
  o.auto_promote = false;
}

// Ticks the leader until `id` is a committed voter (at most `limit` ticks).
void tick_until_voter(Cluster& c, NodeId leader, NodeId id, int limit = 40) {
  for (int i = 0; i < limit; ++i) {
    const Status s = c.core(leader).status();
    if (is_voter(c.core(leader).config(), id) && s.commit_index == s.last_log_index) return;
    c.tick(leader);
  }
}

pb::Entry conf_entry(Index index, Term term, const pb::ConfChange& c) {
  pb::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_type(pb::ENTRY_CONF_CHANGE);
  e.set_data(c.SerializeAsString());
  return e;
}

}  // namespace

TEST_CASE("configurations: changes are checked and applied") {
  pb::ClusterConfig config = config_of_voters({3, 1, 2});
  REQUIRE(config.members_size() == 3);
  CHECK(config.members(0).id() == 1);
  CHECK(check_change(config, add_learner(2)) == "member 2 already exists");
  CHECK(check_change(config, promote(2)) == "member 2 is already a voter");
  CHECK(check_change(config, promote(9)) == "member 9 is not in the cluster");
  CHECK(check_change(config, remove(9)) == "member 9 is not in the cluster");
  CHECK(check_change(config_of_voters({1}), remove(1)) == "member 1 is the last voter");

  config = apply_change(config, add_learner(0, "h:1"));
  CHECK(config.members(0).id() == 0);  // ordered by id
  CHECK(is_learner(config, 0));
  CHECK(config.members(0).raft_address() == "h:1");
  CHECK(quorum_view(config).voters() == std::vector<NodeId>{1, 2, 3});
  CHECK(quorum_view(config).learners() == std::vector<NodeId>{0});
  // A learner can go even when it would leave one voter.
  CHECK(check_change(apply_change(config_of_voters({1}), add_learner(2)), remove(2)).empty());
  config = apply_change(config, promote(0));
  CHECK(is_voter(config, 0));
  config = apply_change(config, remove(2));
  CHECK(find_member(config, 2) == nullptr);
  CHECK(apply_change(config, remove(2)).SerializeAsString() == config.SerializeAsString());
}

TEST_CASE("configurations: the history answers as of any index and rolls back") {
  ConfigHistory h;
  h.reset(config_of_voters({1, 2, 3}), 0);
  h.append(4, apply_change(h.current(), add_learner(4)));
  h.append(7, apply_change(h.current(), remove(1)));
  CHECK(h.last_change_index() == 7);
  CHECK(h.at(3).members_size() == 3);
  CHECK(is_learner(h.at(5), 4));
  CHECK(find_member(h.current(), 1) == nullptr);
  CHECK(h.members_since(5) == std::vector<NodeId>{1, 2, 3, 4});  // 1 until its removal commits
  CHECK(h.members_since(7) == std::vector<NodeId>{2, 3, 4});
  CHECK_FALSE(h.truncate_after(8));
  CHECK(h.truncate_after(6));
  CHECK(find_member(h.current(), 1) != nullptr);
  h.compact(5);
  CHECK(h.base_index() == 5);
  CHECK(is_learner(h.at(5), 4));
  CHECK(h.last_change_index() == 5);
}

TEST_CASE("a learner receives the log but never counts toward commitment") {
  Cluster c({1, 2, 3}, manual_promotion);
  c.elect(1);
  c.add(4);
  REQUIRE(c.core(1).propose_conf_change(add_learner(4)) == ChangeResult::kAccepted);
  c.stabilize();
  c.tick(1);  // a heartbeat tells every follower the commit index
  for (NodeId id : {1, 2, 3, 4}) {
    INFO("member " << id);
    CHECK(is_learner(c.core(id).config(), 4));
    CHECK(c.core(id).status().commit_index == 2);
  }
  CHECK(c.core(1).status().learners == std::vector<NodeId>{4});
  CHECK(c.core(1).status().voters == std::vector<NodeId>{1, 2, 3});

  // The leader and the learner alone commit nothing.
  c.cut(1, 2);
  c.cut(1, 3);
  REQUIRE(c.core(1).propose("x") == ProposeResult::kAccepted);
  c.stabilize();
  CHECK(c.member(4).disk.entries.size() == 3);
  CHECK(c.core(1).status().commit_index == 2);
  c.heal();
  for (int i = 0; i < 30 && c.core(1).status().commit_index < 3; ++i) c.tick(1);
  CHECK(c.core(1).status().commit_index == 3);
}

TEST_CASE("a sole voter leads a new term only once the term is durable") {
  Cluster c({1}, manual_promotion);
  c.elect(1);
  c.add(2);
  REQUIRE(c.core(1).propose_conf_change(add_learner(2)) == ChangeResult::kAccepted);
  c.stabilize();
  REQUIRE(is_learner(c.core(2).config(), 2));
  const Term old_term = c.core(1).term();
  // Restarted, 1 campaigns alone; its write of the new term is not done.
  c.member(1).auto_persist = false;
  c.restart(1);
  for (int i = 0; i < 100 && c.core(1).term() == old_term; ++i) c.tick(1);
  REQUIRE(c.core(1).term() == old_term + 1);
  c.tick(1);
  // A crash now would lose the term, and 1 could lead it again with another
  // log: so it leads nothing yet, and the learner hears nothing of the term.
  CHECK(c.core(1).role() == Role::kCandidate);
  CHECK(take_to(c, 2).empty());
  c.persist(1);
  CHECK(c.core(1).role() == Role::kLeader);
  c.process(1);
  auto appends = take_to(c, 2, pb::Message::kAppendEntries);
  REQUIRE_FALSE(appends.empty());
  CHECK(appends[0].term() == old_term + 1);
}

TEST_CASE("a leader elected by votes sends before its own write completes") {
  Cluster c({1, 2, 3});
  c.member(1).auto_persist = false;
  for (int i = 0; i < 100 && c.core(1).role() != Role::kLeader; ++i) {
    c.tick(1);
    c.persist(1);  // the vote requests leave after the term is durable
    while (c.core(1).role() != Role::kLeader && c.deliver_one()) c.persist(1);
  }
  REQUIRE(c.core(1).role() == Role::kLeader);
  c.process(1);
  // The no-op goes out in parallel with the leader's own write (thesis §10.2.1).
  CHECK_FALSE(take_to(c, 2, pb::Message::kAppendEntries).empty());
}

TEST_CASE("a learner counts neither for reads nor for check-quorum") {
  Cluster c({1, 2, 3}, manual_promotion);
  c.elect(1);
  c.add(4);
  REQUIRE(c.core(1).propose_conf_change(add_learner(4)) == ChangeResult::kAccepted);
  c.stabilize();
  c.cut(1, 2);
  c.cut(1, 3);
  REQUIRE(c.core(1).read_index(7) == ReadResult::kAccepted);
  c.stabilize();
  CHECK(c.member(1).reads.empty());
  // The learner answers every heartbeat, yet the leader steps down.
  for (int i = 0; i < 25; ++i) c.tick(1);
  CHECK(c.core(1).role() == Role::kFollower);
  CHECK(c.member(1).failed_reads == std::vector<std::uint64_t>{7});
}

TEST_CASE("a learner never campaigns and is never asked for a vote") {
  Cluster c({1, 2, 3}, manual_promotion);
  c.elect(1);
  c.add(4);
  REQUIRE(c.core(1).propose_conf_change(add_learner(4)) == ChangeResult::kAccepted);
  c.stabilize();
  const Term term = c.core(1).term();
  c.isolate(4);
  for (int i = 0; i < 100; ++i) c.tick(4);
  CHECK(c.core(4).role() == Role::kFollower);
  CHECK(c.core(4).term() == term);
  c.heal();
  c.isolate(1);
  for (int i = 0; i < 30; ++i) c.tick(2);
  int asked_voter = 0;
  for (const auto& m : c.sent_log()) {
    CHECK_FALSE((m.from() == 4 && m.has_request_vote()));
    CHECK_FALSE((m.to() == 4 && m.has_request_vote()));
    if (m.from() == 2 && m.to() == 3 && m.has_request_vote()) ++asked_voter;
  }
  CHECK(asked_voter > 0);  // 2 did campaign
  // A learner's grant would not count anyway.
  Configuration view({1, 2, 3}, {4});
  CHECK(view.tally({{1, true}, {4, true}}) == VoteResult::kPending);
}

TEST_CASE("the leader promotes a learner once it kept up for an election timeout") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.add(4);
  REQUIRE(c.core(1).propose_conf_change(add_learner(4)) == ChangeResult::kAccepted);
  c.stabilize();
  for (int i = 0; i < 9; ++i) c.tick(1);
  CHECK(is_learner(c.core(1).config(), 4));
  for (int i = 0; i < 3; ++i) c.tick(1);
  CHECK(is_voter(c.core(1).config(), 4));
  CHECK(is_voter(c.core(4).config(), 4));
  const auto& applied = c.member(2).applied;
  REQUIRE(applied.back().type() == pb::ENTRY_CONF_CHANGE);
  pb::ConfChange promoted;
  REQUIRE(promoted.ParseFromString(applied.back().data()));
  CHECK(promoted.type() == pb::ConfChange::PROMOTE);
  CHECK(promoted.member().id() == 4);
  CHECK(promoted.origin() == 1);  // the leader itself
  CHECK(promoted.request_id() == 0);
  // Now a voter: 4 of 4 members, 3 needed.
  c.cut(1, 2);
  c.cut(1, 3);
  c.core(1).propose("x");
  c.stabilize();
  CHECK(c.core(1).status().commit_index < c.core(1).status().last_log_index);
}

TEST_CASE("a learner that is behind or silent is not promoted") {
  Cluster c({1, 2, 3}, [](Options& o) { o.promote_within_entries = 2; });
  c.elect(1);
  c.add(4);
  c.drop = [](const pb::Message& m) { return m.to() == 4 || m.from() == 4; };
  REQUIRE(c.core(1).propose_conf_change(add_learner(4)) == ChangeResult::kAccepted);
  for (int i = 0; i < 5; ++i) c.core(1).propose("x");
  c.stabilize();
  for (int i = 0; i < 40; ++i) c.tick(1);
  CHECK(is_learner(c.core(1).config(), 4));
  c.drop = nullptr;
  tick_until_voter(c, 1, 4);
  CHECK(is_voter(c.core(1).config(), 4));
  CHECK(c.member(4).disk.entries.size() == c.member(1).disk.entries.size());
}

TEST_CASE("a joining member learns the cluster from the log, then can lead it") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.add(4);
  CHECK(c.core(4).config().members_size() == 0);
  REQUIRE(c.core(1).propose_conf_change(add_learner(4, "10.0.0.4:7000")) ==
          ChangeResult::kAccepted);
  c.stabilize();
  tick_until_voter(c, 1, 4);
  const pb::ClusterConfig config = c.core(4).config();
  CHECK(config.SerializeAsString() == c.core(1).config().SerializeAsString());
  CHECK(quorum_view(config).voters() == std::vector<NodeId>{1, 2, 3, 4});
  CHECK(find_member(config, 4)->raft_address() == "10.0.0.4:7000");
  REQUIRE_FALSE(c.member(4).configs.empty());
  CHECK(c.member(4).configs.back().SerializeAsString() == config.SerializeAsString());

  REQUIRE(c.core(1).transfer_leadership(4) == TransferResult::kStarted);
  c.stabilize();
  REQUIRE(c.core(4).role() == Role::kLeader);
  c.core(4).propose("y");
  c.stabilize();
  CHECK(c.member(2).applied.back().data() == "y");

  // Restarts rebuild the same configuration from the log.
  c.restart(2);
  c.restart(4);
  CHECK(c.core(2).config().SerializeAsString() == config.SerializeAsString());
  CHECK(c.core(4).config().SerializeAsString() == config.SerializeAsString());
}

TEST_CASE("a member lagging behind a change follows a leader it does not know yet") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.add(4);
  c.isolate(3);
  REQUIRE(c.core(1).propose_conf_change(add_learner(4)) == ChangeResult::kAccepted);
  c.stabilize();
  tick_until_voter(c, 1, 4);
  REQUIRE(c.core(1).transfer_leadership(4) == TransferResult::kStarted);
  c.stabilize();
  REQUIRE(c.core(4).role() == Role::kLeader);
  REQUIRE(find_member(c.core(3).config(), 4) == nullptr);
  c.heal();
  for (int i = 0; i < 30 && !is_voter(c.core(3).config(), 4); ++i) c.tick(4);
  CHECK(is_voter(c.core(3).config(), 4));
  CHECK(c.core(3).leader() == 4);
}

TEST_CASE("a single member grows to two, and the quorum follows") {
  Cluster c({1});
  c.elect(1);
  c.add(2);
  REQUIRE(c.core(1).propose_conf_change(add_learner(2)) == ChangeResult::kAccepted);
  c.stabilize();
  tick_until_voter(c, 1, 2);
  REQUIRE(is_voter(c.core(1).config(), 2));
  c.cut(1, 2);
  c.core(1).propose("x");
  c.stabilize();
  CHECK(c.core(1).status().commit_index < c.core(1).status().last_log_index);
}

TEST_CASE("a removed leader leads until the removal commits, then hands over") {
  Cluster c({1, 2, 3});
  c.elect(1);
  const Term term = c.core(1).term();
  c.isolate(3);
  REQUIRE(c.core(1).propose_conf_change(remove(1)) == ChangeResult::kAccepted);
  c.stabilize();
  // The new configuration {2, 3} needs both: the leader's copy does not count.
  CHECK(c.core(1).role() == Role::kLeader);
  CHECK(c.core(2).status().last_log_index == 2);
  CHECK(c.core(1).status().commit_index == 1);
  CHECK(c.core(1).propose_conf_change(remove(2)) == ChangeResult::kChangePending);
  c.heal();
  for (int i = 0; i < 30 && c.core(1).role() == Role::kLeader; ++i) c.tick(1);
  c.stabilize();
  CHECK(c.core(1).role() == Role::kFollower);
  // TimeoutNow went to the caught-up voter: it leads the next term at once.
  CHECK(c.core(2).role() == Role::kLeader);
  CHECK(c.core(2).term() == term + 1);
  CHECK(c.core(3).leader() == 2);
  // The removed member never campaigns again.
  for (int i = 0; i < 100; ++i) c.tick(1);
  CHECK(c.core(1).term() == term + 1);
  CHECK(c.core(1).role() == Role::kFollower);
}

TEST_CASE("a removed leader deposed before its removal committed still completes it") {
  // Only the removed leader holds the REMOVE entry, so the other voter cannot
  // be elected without it: the removed member must still campaign (it is a
  // voter in its committed configuration), win the votes of the new
  // configuration, commit the removal and hand over.
  Cluster c({1, 2});
  c.elect(1);
  c.isolate(1);
  REQUIRE(c.core(1).propose_conf_change(remove(1)) == ChangeResult::kAccepted);
  c.stabilize();
  for (int i = 0; i < 25; ++i) c.tick(1);
  REQUIRE(c.core(1).role() != Role::kLeader);  // check-quorum
  c.heal();
  for (int i = 0; i < 300; ++i) {
    if (c.core(2).role() == Role::kLeader && c.core(2).config().members_size() == 1) break;
    c.tick_all();
  }
  CHECK(c.core(2).role() == Role::kLeader);
  CHECK(c.core(2).config().members_size() == 1);
  CHECK(c.core(1).role() == Role::kFollower);
  CHECK(c.core(1).status().commit_index >= 2);
}

TEST_CASE("a removed follower learns it and stops campaigning; the leader forgets it") {
  Cluster c({1, 2, 3});
  c.elect(1);
  REQUIRE(c.core(1).propose_conf_change(remove(3)) == ChangeResult::kAccepted);
  c.stabilize();
  CHECK(find_member(c.core(3).config(), 3) == nullptr);
  // It departs: heartbeats for an election timeout tell it the removal
  // committed, then the leader forgets it.
  c.tick(1);
  CHECK(c.core(3).status().commit_index == 2);
  for (int i = 0; i < 10; ++i) c.tick(1);
  for (const auto& peer : c.core(1).status().peers) CHECK(peer.id != 3);
  const Term term = c.core(3).term();
  const std::size_t sent = c.sent_log().size();
  c.isolate(3);
  for (int i = 0; i < 100; ++i) c.tick(3);
  CHECK(c.core(3).term() == term);
  CHECK(c.sent_log().size() == sent);
  // The two remaining voters commit alone.
  c.heal();
  c.core(1).propose("x");
  c.stabilize();
  CHECK(c.member(2).applied.back().data() == "x");
}

TEST_CASE("a removed member that missed its removal cannot disrupt the cluster") {
  // Without pre-vote, the removed member's elections bump its term: the
  // others ignore it because it is not in their configuration.
  Cluster c({1, 2, 3}, [](Options& o) { o.pre_vote = false; });
  c.elect(1);
  const Term term = c.core(1).term();
  c.isolate(3);
  REQUIRE(c.core(1).propose_conf_change(remove(3)) == ChangeResult::kAccepted);
  c.stabilize();
  REQUIRE(c.core(1).status().commit_index == 2);
  for (int i = 0; i < 12; ++i) c.tick(1);  // its departure passes unheard
  CHECK(find_member(c.core(3).config(), 3) != nullptr);
  c.heal();
  for (int i = 0; i < 100; ++i) c.tick_all();
  CHECK(c.core(3).term() > term);
  CHECK(c.core(1).role() == Role::kLeader);
  CHECK(c.core(1).term() == term);
  CHECK(c.core(2).term() == term);
}

TEST_CASE("a member not yet added cannot disrupt the cluster") {
  SECTION("joining: it never campaigns") {
    Cluster c({1, 2, 3});
    c.elect(1);
    c.add(4);
    const std::size_t sent = c.sent_log().size();
    for (int i = 0; i < 100; ++i) c.tick(4);
    CHECK(c.sent_log().size() == sent);
    CHECK(c.core(4).term() == 0);
  }
  SECTION("misconfigured as a voter: the others ignore it") {
    Cluster c({1, 2, 3});
    c.elect(1);
    const Term term = c.core(1).term();
    c.add(4, [](Options& o) {
      o.joining = false;
      o.voters = {1, 2, 3, 4};
      o.pre_vote = false;
    });
    for (int i = 0; i < 100; ++i) c.tick_all();
    CHECK(c.core(4).term() > term);
    CHECK(c.core(1).role() == Role::kLeader);
    CHECK(c.core(1).term() == term);
  }
}

TEST_CASE("a configuration is rolled back when its entry is truncated") {
  Core core(default_options(2, {1, 2, 3}), {});
  pb::Entry noop;
  noop.set_index(1);
  noop.set_term(1);
  noop.set_type(pb::ENTRY_NOOP);
  // An entry without the resulting configuration (older leaders): the change
  // is applied to the configuration before it.
  core.step(append_request(1, 2, 1, 0, 0, {noop, conf_entry(2, 1, add_learner(4))}));
  Ready r = core.ready();
  REQUIRE(r.config);
  CHECK(is_learner(*r.config, 4));
  CHECK(core.status().learners == std::vector<NodeId>{4});

  pb::Entry other;
  other.set_index(2);
  other.set_term(2);
  other.set_type(pb::ENTRY_NOOP);
  core.step(append_request(3, 2, 2, 1, 1, {other}));
  r = core.ready();
  REQUIRE(r.config);
  CHECK(find_member(*r.config, 4) == nullptr);
  CHECK(core.status().learners.empty());
  CHECK(core.config().members_size() == 3);
}

TEST_CASE("one change at a time: a second one waits for the first to commit") {
  Cluster c({1, 2, 3}, manual_promotion);
  c.elect(1);
  c.add(4);
  c.add(5);
  REQUIRE(c.core(1).propose_conf_change(add_learner(4)) == ChangeResult::kAccepted);
  std::string why;
  CHECK(c.core(1).propose_conf_change(add_learner(5), &why) == ChangeResult::kChangePending);
  CHECK(why == "another membership change is not committed yet");
  c.stabilize();
  CHECK(c.core(1).propose_conf_change(add_learner(5)) == ChangeResult::kAccepted);
  c.stabilize();
  CHECK(c.core(1).status().learners == std::vector<NodeId>{4, 5});
}

TEST_CASE("a new leader changes nothing before it commits an entry of its term") {
  Cluster c({1, 2, 3}, manual_promotion);
  c.drop = [](const pb::Message& m) { return m.has_append_entries_response(); };
  c.elect(1);
  std::string why;
  CHECK(c.core(1).propose_conf_change(add_learner(4), &why) == ChangeResult::kChangePending);
  CHECK(why == "the leader has not committed an entry of its term yet");
  c.drop = nullptr;
  for (int i = 0; i < 20 && c.core(1).status().commit_index == 0; ++i) c.tick(1);
  CHECK(c.core(1).propose_conf_change(add_learner(4)) == ChangeResult::kAccepted);
}

TEST_CASE("unsafe or misdirected changes are refused with a reason") {
  Cluster c({1, 2, 3}, manual_promotion);
  std::string why;
  CHECK(c.core(2).propose_conf_change(add_learner(4), &why) == ChangeResult::kNoLeader);
  c.elect(1);
  CHECK(c.core(2).propose_conf_change(add_learner(4), &why) == ChangeResult::kNotLeader);
  CHECK(c.core(2).leader() == 1);
  CHECK(c.core(1).propose_conf_change(add_learner(2), &why) == ChangeResult::kUnsafe);
  CHECK(why == "member 2 already exists");
  CHECK(c.core(1).propose_conf_change(promote(2), &why) == ChangeResult::kUnsafe);
  CHECK(c.core(1).propose_conf_change(promote(9), &why) == ChangeResult::kUnsafe);
  CHECK(c.core(1).propose_conf_change(remove(9), &why) == ChangeResult::kUnsafe);
  CHECK(why == "member 9 is not in the cluster");
  // Leadership transfer: a learner is no target.
  REQUIRE(c.core(1).propose_conf_change(add_learner(4)) == ChangeResult::kAccepted);
  c.stabilize();
  CHECK(c.core(1).transfer_leadership(4) == TransferResult::kUnknownTarget);
  // No change during a transfer.
  c.isolate(3);
  REQUIRE(c.core(1).transfer_leadership(3) == TransferResult::kStarted);
  CHECK(c.core(1).propose_conf_change(promote(4), &why) == ChangeResult::kTransferring);

  Cluster single({1});
  single.elect(1);
  CHECK(single.core(1).propose_conf_change(remove(1), &why) == ChangeResult::kUnsafe);
  CHECK(why == "member 1 is the last voter");
}

TEST_CASE("a snapshot carries the configuration as of its index") {
  Cluster c({1, 2, 3}, manual_promotion);
  c.elect(1);
  c.add(4);
  c.core(1).propose("a");
  c.stabilize();
  REQUIRE(c.core(1).propose_conf_change(add_learner(4, "h4:1")) == ChangeResult::kAccepted);
  c.stabilize();
  c.core(1).propose("b");
  c.stabilize();
  REQUIRE(c.core(1).status().commit_index == 4);
  CHECK(c.core(1).snapshot_meta(2)->config().members_size() == 3);
  CHECK(is_learner(c.core(1).snapshot_meta(3)->config(), 4));
  c.take_snapshot(1, 4);
  const auto meta = c.core(1).snapshot_meta(4);
  REQUIRE(meta);
  CHECK(is_learner(meta->config(), 4));
  CHECK(find_member(meta->config(), 4)->raft_address() == "h4:1");
  // A restart rebuilds it from the snapshot alone (the entry is compacted).
  c.restart(1);
  CHECK(c.core(1).config().SerializeAsString() == meta->config().SerializeAsString());
}

TEST_CASE("a joining member learns the configuration from an installed snapshot") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.add(4);
  c.drop = [](const pb::Message& m) { return m.to() == 4; };
  REQUIRE(c.core(1).propose_conf_change(add_learner(4)) == ChangeResult::kAccepted);
  c.core(1).propose("a");
  c.stabilize();
  c.take_snapshot(1, c.core(1).status().commit_index);
  c.drop = nullptr;
  for (int i = 0; i < 5 && c.core(4).config().members_size() == 0; ++i) c.tick(1);
  REQUIRE(c.core(4).status().snapshot_index > 0);
  CHECK(is_learner(c.core(4).config(), 4));
  CHECK(quorum_view(c.core(4).config()).voters() == std::vector<NodeId>{1, 2, 3});
  REQUIRE_FALSE(c.member(4).configs.empty());  // reported in Ready::config
  tick_until_voter(c, 1, 4);
  CHECK(is_voter(c.core(4).config(), 4));
}
