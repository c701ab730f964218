// Snapshots and log compaction (Raft §7, thesis ch. 5): the compacted log,
// the metadata a snapshot carries, InstallSnapshot on the leader (snapshot
// mode, heartbeats, failed transfers) and on the follower (keep, replace or
// ignore), restarts from a snapshot, and votes after an install.
#include <algorithm>

#include <catch2/catch.hpp>

#include "core/log.h"
#include "core/rng.h"
#include "helpers.h"

using namespace raftkv::core;
namespace pb = raftkv::pb;
using namespace raftkv::core::test;

namespace {

// Entries first, first + 1, ... with the given terms.
std::vector<pb::Entry> entries_from(Index first, const std::vector<Term>& terms) {
  std::vector<pb::Entry> out = entries_with_terms(terms);
  for (auto& e : out) e.set_index(e.index() + first - 1);
  return out;
}

pb::SnapshotMeta meta_of(Index index, Term term) {
  pb::SnapshotMeta meta;
  meta.set_index(index);
  meta.set_term(term);
  return meta;
}

pb::HardState hard_state(Term term) {
  pb::HardState hs;
  hs.set_term(term);
  return hs;
}

pb::Message install(NodeId from, NodeId to, Term term, Index index, Term snapshot_term) {
  pb::Message m;
  m.set_from(from);
  m.set_to(to);
  m.set_term(term);
  *m.mutable_install_snapshot()->mutable_meta() = meta_of(index, snapshot_term);
  return m;
}

// The append acknowledgement in a Ready, and whether it waits for the disk.
const pb::Message* find_ack(const Ready& r, bool* after_persist) {
  for (const auto& out : r.messages) {
    if (out.message.has_append_entries_response()) {
      *after_persist = false;
      return &out.message;
    }
  }
  for (const auto& m : r.messages_after_persist) {
    if (m.has_append_entries_response()) {
      *after_persist = true;
      return &m;
    }
  }
  return nullptr;
}

Options follower_options() {
  Options o = default_options(2, {1, 2, 3});
  o.pre_vote = false;
  return o;
}

void propose(Cluster& c, NodeId leader, int n) {
  for (int i = 0; i < n; ++i) {
    REQUIRE(c.core(leader).propose("p" + std::to_string(i)) == ProposeResult::kAccepted);
    c.stabilize();
  }
}

PeerStatus peer(const Status& s, NodeId id) {
  for (const auto& p : s.peers) {
    if (p.id == id) return p;
  }
  throw std::logic_error("no such peer");
}

int appends_with_entries(const std::vector<pb::Message>& log, std::size_t from, NodeId to) {
  int n = 0;
  for (std::size_t i = from; i < log.size(); ++i) {
    const auto& m = log[i];
    if (m.to() == to && m.has_append_entries() && m.append_entries().entries_size() > 0) ++n;
  }
  return n;
}

bool same_state(const std::vector<pb::Entry>& a, const std::vector<pb::Entry>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.index() == y.index() && x.term() == y.term() && x.data() == y.data();
  });
}

// A 3-member cluster whose leader 1 compacted its log past what follower 3
// holds (3 was cut off while entries 2..11 committed; the leader keeps two
// trailing entries: its log starts at 10).
Cluster behind_compaction() {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.isolate(3);
  propose(c, 1, 10);
  c.tick_all();
  REQUIRE(c.core(1).status().applied_index == 11);
  c.take_snapshot(1, 11, 2);
  REQUIRE(c.core(1).status().first_log_index == 10);
  return c;
}

}  // namespace

TEST_CASE("the log compacts a prefix and keeps the term at the compaction point") {
  Log log;
  log.restore(entries_with_terms({1, 1, 2, 2, 3}));
  log.compact(3);
  CHECK(log.first_index() == 3);
  CHECK(log.compacted_index() == 2);
  CHECK(log.compacted_term() == 1);
  CHECK(log.term_at(2) == Term{1});
  CHECK_FALSE(log.term_at(1).has_value());
  CHECK(log.matches(2, 1));
  CHECK(log.last_index() == 5);
  // Compacted terms are unknown: the back-tracking search answers the index.
  CHECK(log.last_index_with_term_at_most(1, 9) == 1);
  CHECK(log.last_index_with_term_at_most(5, 2) == 4);
  CHECK(log.last_index_with_term_at_most(5, 0) == 2);
  log.compact(1);  // below the first index: nothing to drop
  CHECK(log.first_index() == 3);
  log.compact(99);  // clamped: the whole log, which is then its compaction point
  CHECK(log.compacted_index() == 5);
  CHECK(log.last_index() == 5);
  CHECK(log.last_term() == 3);
  pb::Entry next;
  next.set_index(6);
  next.set_term(4);
  log.append(std::move(next));
  CHECK(log.term_at(5) == Term{3});
  CHECK(log.term_at(6) == Term{4});
}

TEST_CASE("the log restores after a snapshot point, or resets to it") {
  Log log;
  log.restore(10, 3, entries_from(8, {2, 3, 3, 3, 4}));
  CHECK(log.compacted_index() == 10);
  CHECK(log.first_index() == 11);
  CHECK(log.last_index() == 12);
  CHECK(log.term_at(10) == Term{3});
  CHECK(log.last_term() == 4);
  // The entry at the snapshot index has another term: another history.
  log.restore(10, 3, entries_from(8, {2, 3, 2, 3, 4}));
  CHECK(log.last_index() == 10);
  CHECK(log.last_term() == 3);
  // Entries after a gap cannot be used.
  auto gap = entries_from(11, {3, 3, 3});
  gap.erase(gap.begin() + 1);
  log.restore(10, 3, gap);
  CHECK(log.last_index() == 11);
  log.restore(10, 3, entries_from(12, {3}));
  CHECK(log.last_index() == 10);
  log.reset(7, 2);
  CHECK(log.first_index() == 8);
  CHECK(log.last_index() == 7);
  CHECK(log.last_term() == 2);
}

TEST_CASE("snapshot_meta covers [compaction point, applied]; on_snapshot_taken compacts") {
  Cluster c({1, 2, 3});
  c.elect(1);
  propose(c, 1, 5);
  c.tick_all();
  const Term term = c.core(1).term();
  REQUIRE(c.core(1).status().applied_index == 6);
  CHECK_FALSE(c.core(1).snapshot_meta(7));
  const auto meta = c.core(1).snapshot_meta(4);
  REQUIRE(meta);
  CHECK(meta->index() == 4);
  CHECK(meta->term() == term);
  REQUIRE(meta->config().members_size() == 3);
  CHECK(meta->config().members(0).id() == 1);
  CHECK_FALSE(meta->config().members(2).learner());

  c.take_snapshot(1, 4, 1);  // one trailing entry: the log starts at 4
  Status s = c.core(1).status();
  CHECK(s.snapshot_index == 4);
  CHECK(s.snapshot_term == term);
  CHECK(s.first_log_index == 4);
  CHECK(s.last_log_index == 6);
  CHECK(c.core(1).snapshot_meta(3));  // the compaction point: its term is known
  CHECK_FALSE(c.core(1).snapshot_meta(2));

  SECTION("a snapshot past applied, or of another history, is ignored") {
    pb::SnapshotMeta bogus = *meta;
    bogus.set_index(9);
    c.core(1).on_snapshot_taken(bogus, 10);
    bogus.set_index(5);
    bogus.set_term(term + 7);
    c.core(1).on_snapshot_taken(bogus, 6);
    s = c.core(1).status();
    CHECK(s.snapshot_index == 4);
    CHECK(s.first_log_index == 4);
  }
  SECTION("replication goes on past the compaction point") {
    propose(c, 1, 2);
    c.tick_all();
    for (NodeId id : {1, 2, 3}) CHECK(c.member(id).applied.size() == 8);
  }
}

TEST_CASE("a follower behind the compaction point gets one InstallSnapshot; heartbeats go on") {
  Cluster c = behind_compaction();
  c.hold_snapshots = true;  // a transfer that takes its time
  c.heal();
  // Only 3 keeps the leader in its quorum: check-quorum must count it.
  c.cut(1, 2);
  const std::size_t sent_before = c.sent_log().size();
  c.tick_all(30);  // three election timeouts
  CHECK(c.leader() == 1);
  CHECK(c.core(3).role() == Role::kFollower);
  CHECK(c.core(3).term() == c.core(1).term());
  REQUIRE(c.held_snapshots().size() == 1);
  CHECK(c.held_snapshots()[0].install_snapshot().meta().index() == 11);
  const PeerStatus p = peer(c.core(1).status(), 3);
  CHECK(p.mode == PeerMode::kSnapshot);
  CHECK(p.pending_snapshot == 11);
  CHECK(peer_mode_name(p.mode) == "snapshot");
  CHECK(appends_with_entries(c.sent_log(), sent_before, 3) == 0);

  // The transfer completes: 3 installs the snapshot and catches up.
  c.heal();
  c.hold_snapshots = false;
  c.deliver_snapshot(c.held_snapshots()[0]);
  c.held_snapshots().clear();
  propose(c, 1, 1);
  c.tick_all(2);
  REQUIRE(c.member(3).disk.snapshot);
  CHECK(c.member(3).disk.snapshot->index() == 11);
  CHECK(c.member(3).disk.first_index() == 12);
  CHECK(c.member(3).applied.size() == 12);
  CHECK(same_state(c.member(3).applied, c.member(1).applied));
  const PeerStatus after = peer(c.core(1).status(), 3);
  CHECK(after.mode == PeerMode::kReplicate);
  CHECK(after.match == 12);
}

TEST_CASE("a failed transfer sends the follower back to probing, then a new InstallSnapshot") {
  Cluster c = behind_compaction();
  c.hold_snapshots = true;
  c.heal();
  // The leader's stall timer notices the appends 3 lost, then probes.
  for (int i = 0; i < 30 && c.held_snapshots().empty(); ++i) c.tick(1);
  REQUIRE(c.held_snapshots().size() == 1);
  c.core(1).report_snapshot(3, true);  // done sending: still waits for 3's answer
  CHECK(peer(c.core(1).status(), 3).mode == PeerMode::kSnapshot);

  c.held_snapshots().clear();  // the connection broke for good
  c.core(1).report_snapshot(3, false);
  CHECK(peer(c.core(1).status(), 3).mode == PeerMode::kProbe);
  c.process(1);
  CHECK(take_to(c, 3, pb::Message::kInstallSnapshot).empty());  // not in a tight loop
  c.tick(1, 2);                                                 // a heartbeat answered: try again
  REQUIRE(c.held_snapshots().size() == 1);
  CHECK(peer(c.core(1).status(), 3).mode == PeerMode::kSnapshot);

  c.hold_snapshots = false;
  c.deliver_snapshot(c.held_snapshots()[0]);
  c.held_snapshots().clear();
  c.tick_all(2);
  CHECK(peer(c.core(1).status(), 3).mode == PeerMode::kReplicate);
  CHECK(c.member(3).applied.size() == 11);
  // A late report about a finished transfer changes nothing.
  c.core(1).report_snapshot(3, false);
  CHECK(peer(c.core(1).status(), 3).mode == PeerMode::kReplicate);
}

TEST_CASE("a follower that crashed before its install was durable gets the snapshot again") {
  Cluster c = behind_compaction();
  c.hold_snapshots = true;
  c.heal();
  for (int i = 0; i < 30 && c.held_snapshots().empty(); ++i) c.tick(1);
  REQUIRE(c.held_snapshots().size() == 1);
  c.member(3).auto_persist = false;
  const Disk before = c.member(3).disk;
  c.hold_snapshots = false;
  c.deliver_snapshot(c.held_snapshots()[0]);  // reported done to the leader
  c.held_snapshots().clear();
  c.process(3);
  REQUIRE(c.member(3).disk.snapshot);  // written, but not yet durable...
  c.member(3).disk = before;           // ...and lost in the crash
  c.restart(3);
  REQUIRE(c.core(3).status().last_log_index == 1);
  c.member(3).auto_persist = true;
  REQUIRE(peer(c.core(1).status(), 3).mode == PeerMode::kSnapshot);
  c.hold_snapshots = true;
  c.tick(1);  // the heartbeat asks for the snapshot's entry; 3 has none
  REQUIRE(c.held_snapshots().size() == 1);
  c.hold_snapshots = false;
  c.deliver_snapshot(c.held_snapshots()[0]);
  c.held_snapshots().clear();
  c.tick_all(2);
  CHECK(c.member(3).applied.size() == 11);
  CHECK(peer(c.core(1).status(), 3).mode == PeerMode::kReplicate);
}

TEST_CASE("a lost acknowledgement of an install does not strand the leader in snapshot mode") {
  Cluster c = behind_compaction();
  c.heal();
  // Every answer of 3 that claims the snapshot is lost for a while.
  int dropped = 0;
  c.drop = [&dropped](const pb::Message& m) {
    const bool lost = m.from() == 3 && m.has_append_entries_response() &&
                      m.append_entries_response().match_index() == 11;
    dropped += lost ? 1 : 0;
    return lost;
  };
  for (int i = 0; i < 30 && !c.member(3).disk.snapshot; ++i) c.tick(1);
  REQUIRE(c.member(3).disk.snapshot);
  c.tick(1, 3);
  CHECK(dropped >= 2);
  REQUIRE(peer(c.core(1).status(), 3).mode == PeerMode::kSnapshot);
  c.drop = nullptr;
  c.tick_all(2);  // a heartbeat's answer carries the news
  CHECK(peer(c.core(1).status(), 3).mode == PeerMode::kReplicate);
  CHECK(peer(c.core(1).status(), 3).match == 11);
}

TEST_CASE("a transfer the driver reports failed is retried until it succeeds") {
  Cluster c = behind_compaction();
  int failures = 0;
  c.fail_transfer = [&failures](const pb::Message&) { return ++failures <= 3; };
  c.heal();
  c.tick_all(40);
  CHECK(failures > 3);
  CHECK(c.member(3).applied.size() == 11);
  CHECK(peer(c.core(1).status(), 3).mode == PeerMode::kReplicate);
}

TEST_CASE("a follower whose log holds the snapshot's last entry keeps its log") {
  Core f(follower_options(), PersistentState{hard_state(1), {}, entries_with_terms({1, 1, 1, 1})});
  f.step(install(1, 2, 1, 3, 1));
  Ready r = f.ready();
  CHECK_FALSE(r.snapshot);
  CHECK(r.committed.size() == 3);  // the entries apply as usual
  bool after_persist = true;
  const pb::Message* ack = find_ack(r, &after_persist);
  REQUIRE(ack);
  CHECK(ack->append_entries_response().success());
  CHECK(ack->append_entries_response().match_index() == 3);
  CHECK_FALSE(after_persist);  // entry 3 is durable already
  CHECK(f.status().last_log_index == 4);
  CHECK(f.status().commit_index == 3);
  CHECK(f.leader() == 1);
}

TEST_CASE("a follower with a conflicting log replaces it with the snapshot") {
  Core f(follower_options(), PersistentState{hard_state(3), {}, entries_with_terms({1, 1, 2, 2})});
  pb::Message m = install(1, 2, 3, 3, 3);
  m.mutable_install_snapshot()->mutable_meta()->mutable_config()->add_members()->set_id(1);
  auto* learner = m.mutable_install_snapshot()->mutable_meta()->mutable_config()->add_members();
  learner->set_id(2);
  learner->set_learner(true);
  m.mutable_install_snapshot()->mutable_meta()->mutable_config()->add_members()->set_id(3);
  f.step(m);
  Ready r = f.ready();
  REQUIRE(r.snapshot);
  CHECK(r.snapshot->index() == 3);
  CHECK(r.snapshot->term() == 3);
  CHECK(r.entries.empty());
  CHECK(r.committed.empty());
  bool after_persist = false;
  const pb::Message* ack = find_ack(r, &after_persist);
  REQUIRE(ack);
  CHECK(ack->append_entries_response().match_index() == 3);
  CHECK(after_persist);  // only once the install is durable
  Status s = f.status();
  CHECK(s.last_log_index == 3);
  CHECK(s.last_log_term == 3);
  CHECK(s.commit_index == 3);
  CHECK(s.applied_index == 3);
  CHECK(s.first_log_index == 4);
  CHECK(s.snapshot_index == 3);
  CHECK(s.voters == std::vector<NodeId>{1, 3});  // the snapshot's configuration

  // Until the driver reports the install durable, acks of index 3 wait.
  f.step(append_request(1, 2, 3, 3, 3, {}, 3));
  REQUIRE(find_ack(r = f.ready(), &after_persist));
  CHECK(after_persist);
  f.on_persisted(3, 3);
  CHECK(f.status().persisted_index == 3);
  f.step(append_request(1, 2, 3, 3, 3, {}, 3));
  REQUIRE(find_ack(r = f.ready(), &after_persist));
  CHECK_FALSE(after_persist);
  // Entries after the snapshot append and apply as usual.
  f.step(append_request(1, 2, 3, 3, 3, entries_from(4, {3}), 4));
  r = f.ready();
  REQUIRE(r.entries.size() == 1);
  CHECK(r.entries[0]->index() == 4);
  f.on_persisted(4, 3);
  r = f.ready();
  REQUIRE(r.committed.size() == 1);
  CHECK(r.committed[0]->index() == 4);
}

TEST_CASE("a snapshot at or below the commit index is answered without an install") {
  Core f(follower_options(), PersistentState{hard_state(1), {}, entries_with_terms({1, 1, 1, 1})});
  f.step(append_request(1, 2, 1, 4, 1, {}, 4));
  f.ready();
  REQUIRE(f.status().commit_index == 4);
  f.step(install(1, 2, 1, 3, 1));
  Ready r = f.ready();
  CHECK_FALSE(r.snapshot);
  bool after_persist = true;
  const pb::Message* ack = find_ack(r, &after_persist);
  REQUIRE(ack);
  CHECK(ack->append_entries_response().success());
  CHECK(ack->append_entries_response().match_index() == 4);
  CHECK(f.status().last_log_index == 4);
}

TEST_CASE("an InstallSnapshot of a stale term is refused with the current term") {
  Core f(follower_options(), PersistentState{hard_state(5), {}, entries_with_terms({1, 1})});
  f.step(install(1, 2, 3, 9, 3));
  Ready r = f.ready();
  CHECK_FALSE(r.snapshot);
  bool after_persist = false;
  const pb::Message* ack = find_ack(r, &after_persist);
  REQUIRE(ack);
  CHECK_FALSE(ack->append_entries_response().success());
  CHECK(ack->term() == 5);
  CHECK(f.status().last_log_index == 2);
}

TEST_CASE("a member restarts from a snapshot and the log after it") {
  pb::SnapshotMeta meta = meta_of(10, 2);
  for (NodeId id : {1, 2, 3}) meta.mutable_config()->add_members()->set_id(id);
  auto* learner = meta.mutable_config()->add_members();
  learner->set_id(4);
  learner->set_learner(true);
  Core f(follower_options(),
         PersistentState{hard_state(3), meta, entries_from(8, {1, 2, 2, 2, 3})});
  Status s = f.status();
  CHECK(s.commit_index == 10);
  CHECK(s.applied_index == 10);
  CHECK(s.persisted_index == 12);
  CHECK(s.last_log_index == 12);
  CHECK(s.last_log_term == 3);
  CHECK(s.first_log_index == 11);
  CHECK(s.snapshot_index == 10);
  CHECK(s.snapshot_term == 2);
  CHECK(s.voters == std::vector<NodeId>{1, 2, 3});
  CHECK(f.ready().committed.empty());  // the state machine was loaded from the snapshot
  // The snapshot's configuration keeps the recorded members (and the learner).
  const auto again = f.snapshot_meta(10);
  REQUIRE(again);
  REQUIRE(again->config().members_size() == 4);
  CHECK(again->config().members(3).learner());

  SECTION("a log of another history after the snapshot is dropped") {
    Core g(follower_options(), PersistentState{hard_state(3), meta, entries_from(9, {2, 1, 3})});
    CHECK(g.status().last_log_index == 10);
    CHECK(g.status().last_log_term == 2);
  }
}

TEST_CASE("a member restarted from its snapshot catches up from the leader") {
  Cluster c({1, 2, 3});
  c.elect(1);
  propose(c, 1, 6);
  c.tick_all();
  c.take_snapshot(2, 5);
  c.take_snapshot(1, 6, 3);
  c.restart(2);
  CHECK(c.member(2).applied.size() == 5);  // loaded from the snapshot
  CHECK(c.core(2).status().applied_index == 5);
  propose(c, 1, 2);
  c.tick_all(2);
  CHECK(c.member(2).applied.size() == 9);
  CHECK(same_state(c.member(2).applied, c.member(1).applied));
}

TEST_CASE("an AppendEntries anchored before the follower's compaction point passes the check") {
  Core f(follower_options(),
         PersistentState{hard_state(2), meta_of(10, 2), entries_from(9, {2, 2})});
  f.step(append_request(1, 2, 2, 5, 1, entries_from(6, {1, 1, 1, 2, 2, 2, 2}), 12));
  Ready r = f.ready();
  REQUIRE(r.entries.size() == 2);
  CHECK(r.entries[0]->index() == 11);
  bool after_persist = false;
  const pb::Message* ack = find_ack(r, &after_persist);
  REQUIRE(ack);
  CHECK(ack->append_entries_response().success());
  CHECK(ack->append_entries_response().match_index() == 12);
  CHECK(after_persist);
  // One that ends before the compaction point: the compacted prefix is the
  // durable, committed answer.
  f.step(append_request(1, 2, 2, 3, 1, entries_from(4, {1, 1}), 12));
  REQUIRE((ack = find_ack(r = f.ready(), &after_persist)));
  CHECK(ack->append_entries_response().success());
  CHECK(ack->append_entries_response().match_index() == 10);
  CHECK_FALSE(after_persist);
}

TEST_CASE("after an install a member votes and campaigns as up to date as the snapshot") {
  Options o = follower_options();
  o.check_quorum = false;  // no leader stickiness: votes right after hearing the leader
  Core f(o, PersistentState{hard_state(3), {}, entries_with_terms({1, 1, 2, 2})});
  f.step(install(1, 2, 3, 3, 3));
  f.ready();
  f.on_persisted(3, 3);
  // Behind the snapshot: refused. As far: granted.
  f.step(vote_request(3, 2, 4, 2, 3));
  Ready r = f.ready();
  const pb::Message* answer = find_vote_response(r);
  REQUIRE(answer);
  CHECK_FALSE(answer->request_vote_response().granted());
  f.step(vote_request(1, 2, 5, 3, 3));
  r = f.ready();
  answer = find_vote_response(r);
  REQUIRE(answer);
  CHECK(answer->request_vote_response().granted());
  // Its own campaign claims the snapshot's index and term.
  for (int i = 0; i < 40 && f.role() == Role::kFollower; ++i) f.tick();
  r = f.ready();
  bool asked = false;
  for (const auto& m : r.messages_after_persist) {
    if (!m.has_request_vote()) continue;
    asked = true;
    CHECK(m.request_vote().last_log_index() == 3);
    CHECK(m.request_vote().last_log_term() == 3);
  }
  CHECK(asked);
}

namespace {

// The random smoke test of safety_test.cc with snapshots taken at random
// points (with random trailing entries) on random members. Returns the
// number of InstallSnapshot messages sent.
int run_random_with_snapshots(std::uint64_t seed) {
  Rng rng(seed);
  const std::vector<NodeId> ids = {1, 2, 3, 4, 5};
  Cluster c(ids, [&](Options& o) {
    o.seed = seed * 10 + o.id;
    o.max_append_bytes = 64;
    o.max_inflight_messages = 3;
  });
  c.drop = [&rng](const pb::Message&) { return rng.below(10) == 0; };
  c.fail_transfer = [&rng](const pb::Message&) { return rng.below(4) == 0; };
  std::map<Term, NodeId> leaders;
  int proposals = 0;
  for (int step = 0; step < 400; ++step) {
    const NodeId who = ids[rng.below(ids.size())];
    switch (rng.below(16)) {
      case 0:
        c.isolate(who);
        break;
      case 1:
        c.heal();
        break;
      case 2:
        c.restart(who);
        break;
      case 3:
      case 4: {
        const Index applied = c.member(who).applied.size();
        if (applied > 0) c.take_snapshot(who, applied, rng.below(4));
        break;
      }
      default:
        c.core(who).propose("p" + std::to_string(proposals++));
        break;
    }
    c.tick_all();
    require_one_leader_per_term(c, ids, leaders, seed);
  }
  c.heal();
  c.drop = nullptr;
  c.fail_transfer = nullptr;
  c.tick_all(60);
  const std::vector<pb::Entry> longest = longest_applied(c, ids);
  for (NodeId id : ids) {
    INFO("seed " << seed << " member " << id);
    const auto& applied = c.member(id).applied;
    CHECK(applied.size() == longest.size());
    CHECK(same_state(applied,
                     std::vector<pb::Entry>(longest.begin(), longest.begin() + applied.size())));
  }
  return static_cast<int>(
      std::count_if(c.sent_log().begin(), c.sent_log().end(),
                    [](const pb::Message& m) { return m.has_install_snapshot(); }));
}

}  // namespace

TEST_CASE("random partitions, restarts and snapshots keep every state machine the same") {
  int installs = 0;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) installs += run_random_with_snapshots(seed);
  CHECK(installs >= 30);  // the schedules do reach InstallSnapshot
}
