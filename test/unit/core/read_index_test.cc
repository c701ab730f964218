// ReadIndex (thesis §6.4): reads need a heartbeat round, wait for the
// leader's first commit in its term, and fail rather than go stale.
#include <algorithm>

#include <catch2/catch.hpp>

#include "helpers.h"

using namespace raftkv::core;
namespace pb = raftkv::pb;
using namespace raftkv::core::test;

namespace {

bool has_read(const Member& m, std::uint64_t id, Index index) {
  return std::any_of(m.reads.begin(), m.reads.end(),
                     [&](const ReadState& r) { return r.request_id == id && r.index == index; });
}

bool failed(const Member& m, std::uint64_t id) {
  return std::find(m.failed_reads.begin(), m.failed_reads.end(), id) != m.failed_reads.end();
}

}  // namespace

TEST_CASE("a leader's read needs a heartbeat round answered by a majority") {
  Cluster c({1, 2, 3});
  c.elect(1);
  REQUIRE(c.core(1).read_index(7) == ReadResult::kAccepted);
  REQUIRE(c.core(1).read_index(8) == ReadResult::kAccepted);
  c.process(1);
  CHECK(c.member(1).reads.empty());
  // One round, announced at once, for both reads.
  auto beats = take_to(c, 2, pb::Message::kAppendEntries);
  REQUIRE(beats.size() == 1);
  CHECK(beats[0].append_entries().read_round() == 1);
  c.stabilize();
  CHECK(has_read(c.member(1), 7, 1));
  CHECK(has_read(c.member(1), 8, 1));
  CHECK(c.member(1).reads.size() == 2);
}

TEST_CASE("an isolated leader never confirms a read") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.isolate(1);
  c.core(1).read_index(7);
  c.stabilize();
  for (int i = 0; i < 5; ++i) c.tick(1);
  CHECK(c.member(1).reads.empty());
}

TEST_CASE("fault read_index_without_heartbeat answers at once") {
  Cluster c({1, 2, 3}, [](Options& o) { o.faults.read_index_without_heartbeat = true; });
  c.elect(1);
  c.isolate(1);
  c.core(1).read_index(7);
  c.process(1);
  CHECK(has_read(c.member(1), 7, 1));
}

TEST_CASE("a single member answers reads at once") {
  Cluster c({1});
  c.elect(1);
  c.core(1).read_index(3);
  c.process(1);
  CHECK(has_read(c.member(1), 3, 1));
}

TEST_CASE("reads wait for the leader's first commit in its term") {
  Cluster c({1, 2, 3});
  // Followers' acks are lost: the no-op cannot commit.
  c.drop = [](const pb::Message& m) { return m.has_append_entries_response(); };
  for (int i = 0; i < 30 && c.core(1).role() != Role::kLeader; ++i) c.tick(1);
  REQUIRE(c.core(1).role() == Role::kLeader);
  c.core(1).read_index(5);
  c.process(1);
  for (const auto& m : c.queue()) CHECK(m.append_entries().read_round() == 0);
  c.stabilize();
  CHECK(c.member(1).reads.empty());
  c.drop = nullptr;
  c.tick(1);
  CHECK(c.core(1).status().commit_index == 1);
  c.stabilize();
  CHECK(has_read(c.member(1), 5, 1));
}

TEST_CASE("a follower's read goes through the leader") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.core(1).propose("x");
  c.stabilize();
  REQUIRE(c.core(2).read_index(11) == ReadResult::kAccepted);
  c.stabilize();
  CHECK(has_read(c.member(2), 11, 2));
  CHECK(c.member(1).reads.empty());
}

TEST_CASE("a follower without a leader refuses reads") {
  Cluster c({1, 2, 3});
  CHECK(c.core(2).read_index(1) == ReadResult::kNoLeader);
}

TEST_CASE("reads fail when the leader loses leadership") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.isolate(1);
  c.core(1).read_index(7);
  for (int i = 0; i < 25; ++i) c.tick(1);  // check-quorum steps down
  REQUIRE(c.core(1).role() == Role::kFollower);
  CHECK(failed(c.member(1), 7));
  CHECK(c.member(1).reads.empty());
}

TEST_CASE("a follower's reads fail when its leader changes") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.cut(1, 2);
  c.cut(1, 3);
  c.core(2).read_index(9);
  c.stabilize();
  for (int i = 0; i < 60 && (c.core(2).leader() == 1 || c.core(2).leader() == kNoNode); ++i) {
    c.tick(2);
    c.tick(3);
  }
  CHECK(c.core(2).leader() != 1);
  CHECK(c.core(2).leader() != kNoNode);
  CHECK(failed(c.member(2), 9));
  CHECK(c.member(2).reads.empty());
  // A late answer from the old leader is ignored.
  c.heal();
  c.tick_all(3);
  CHECK(c.member(2).reads.empty());
}

TEST_CASE("a leader rejects a read for a follower when it steps down") {
  // Five voters: the asker and the leader are no majority, so the read
  // waits for a heartbeat round.
  Cluster c({1, 2, 3, 4, 5});
  c.elect(1);
  c.cut(1, 3);
  c.cut(1, 4);
  c.cut(1, 5);
  // 2's request reaches 1, but 1 never hears 3-5, and 2's heartbeat acks are lost.
  c.drop = [](const pb::Message& m) { return m.from() == 2 && m.has_append_entries_response(); };
  c.core(2).read_index(4);
  c.stabilize();
  for (int i = 0; i < 25; ++i) c.tick(1);
  REQUIRE(c.core(1).role() == Role::kFollower);
  CHECK(failed(c.member(2), 4));
}

TEST_CASE("a read round does not wait for followers' disk writes") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.tick_all();
  c.member(2).auto_persist = false;
  c.member(3).auto_persist = false;
  c.core(1).propose("x");
  c.stabilize();  // 2 and 3 hold x, but their writes have not completed
  REQUIRE(c.core(1).status().commit_index == 1);
  c.core(1).read_index(7);
  c.stabilize();
  CHECK(has_read(c.member(1), 7, 1));
  // The heartbeat answers claimed nothing that is not durable yet.
  for (const PeerStatus& p : c.core(1).status().peers) CHECK(p.match == 1);
  CHECK(c.core(1).status().commit_index == 1);
  c.persist(2);
  c.stabilize();
  CHECK(c.core(1).status().commit_index == 2);
}

TEST_CASE("an acknowledgement of entries not yet durable waits for the write") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.tick_all();
  c.core(1).propose("x");
  c.process(1);
  c.deliver_one();  // the append to 2
  REQUIRE(c.core(2).has_ready());
  Ready r = c.core(2).ready();
  REQUIRE(r.entries.size() == 1);
  CHECK(r.messages.empty());
  REQUIRE(r.messages_after_persist.size() == 1);
  CHECK(r.messages_after_persist[0].append_entries_response().match_index() == 2);
  c.core(2).on_persisted(2, c.core(2).term());
  // Now a heartbeat anchored at 2 is answered at once.
  pb::Message beat;
  beat.set_from(1);
  beat.set_to(2);
  beat.set_term(c.core(2).term());
  beat.mutable_append_entries()->set_prev_log_index(2);
  beat.mutable_append_entries()->set_prev_log_term(c.core(2).term());
  beat.mutable_append_entries()->set_read_round(3);
  c.core(2).step(beat);
  r = c.core(2).ready();
  REQUIRE(r.messages.size() == 1);
  CHECK(r.messages[0].message.append_entries_response().read_round() == 3);
  CHECK(r.messages_after_persist.empty());
}

TEST_CASE("a follower's reads go to the leader in one request and are answered once each") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.core(1).propose("x");
  c.stabilize();
  // Ids out of order and one repeated (the daemon's only grow): one request.
  for (const std::uint64_t id : {30, 10, 20, 10}) {
    REQUIRE(c.core(2).read_index(id) == ReadResult::kAccepted);
  }
  c.process(2);
  const auto asks = take_to(c, 1, pb::Message::kReadIndexRequest);
  REQUIRE(asks.size() == 1);
  CHECK(asks[0].read_index_request().request_ids_size() == 4);
  c.stabilize();
  for (const std::uint64_t id : {10, 20, 30}) CHECK(has_read(c.member(2), id, 2));
  CHECK(c.member(2).reads.size() == 3);  // the repeated id is answered once
  // A duplicate answer from the leader (say, a retransmission) is ignored.
  pb::Message again;
  again.set_from(1);
  again.set_to(2);
  again.set_term(c.core(2).term());
  for (const std::uint64_t id : {10, 20, 30}) {
    again.mutable_read_index_response()->add_request_ids(id);
  }
  again.mutable_read_index_response()->set_read_index(2);
  c.core(2).step(again);
  c.process(2);
  CHECK(c.member(2).reads.size() == 3);
}

TEST_CASE("a leader serves a burst of local reads in order, one round for all") {
  Cluster c({1, 2, 3});
  c.elect(1);
  for (std::uint64_t id = 1; id <= 40; ++id) c.core(1).read_index(id);
  c.process(1);
  auto beats = take_to(c, 2, pb::Message::kAppendEntries);
  REQUIRE(beats.size() == 1);
  c.stabilize();
  REQUIRE(c.member(1).reads.size() == 40);
  for (std::uint64_t id = 1; id <= 40; ++id) {
    CHECK(c.member(1).reads[id - 1].request_id == id);
    CHECK(c.member(1).reads[id - 1].index == 1);
  }
}

TEST_CASE("with three voters a follower's read request is its own heartbeat answer") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.core(1).propose("x");
  c.stabilize();
  // No heartbeat round can complete: 3 is cut off and 2's answers are lost.
  c.cut(1, 3);
  c.drop = [](const pb::Message& m) { return m.has_append_entries_response(); };
  REQUIRE(c.core(2).read_index(11) == ReadResult::kAccepted);
  c.process(2);
  c.deliver_one();  // the request reaches the leader
  c.process(1);
  // Answered at once, without a round.
  auto answers = take_to(c, 2, pb::Message::kReadIndexResponse);
  REQUIRE(answers.size() == 1);
  CHECK_FALSE(answers[0].read_index_response().rejected());
  CHECK(answers[0].read_index_response().read_index() == 2);
  CHECK(take_to(c, 3, pb::Message::kAppendEntries).empty());
}

TEST_CASE("with five voters a follower's read still needs a heartbeat round") {
  Cluster c({1, 2, 3, 4, 5});
  c.elect(1);
  c.stabilize();
  // Only 2 answers heartbeats: 2 and the leader are no majority of five.
  c.cut(1, 3);
  c.cut(1, 4);
  c.cut(1, 5);
  c.core(2).read_index(12);
  c.stabilize();
  for (int i = 0; i < 3; ++i) c.tick(1);
  c.stabilize();
  CHECK(c.member(2).reads.empty());
  c.heal();
  c.tick(1);
  c.stabilize();
  CHECK(has_read(c.member(2), 12, 1));
}

TEST_CASE("a read request of an earlier term waits for a heartbeat round") {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.stabilize();
  pb::Message request;
  request.set_from(2);
  request.set_to(1);
  request.set_term(c.core(1).term() - 1);
  request.mutable_read_index_request()->add_request_ids(13);
  c.core(1).step(std::move(request));
  c.process(1);
  CHECK(take_to(c, 2, pb::Message::kReadIndexResponse).empty());
  auto beats = take_to(c, 3, pb::Message::kAppendEntries);
  REQUIRE(beats.size() == 1);
  CHECK(beats[0].append_entries().read_round() == 1);
  // Once the round is answered the leader serves the read.
  std::vector<pb::Message> answers;
  c.drop = [&answers](const pb::Message& m) {
    if (m.has_read_index_response()) answers.push_back(m);
    return m.has_read_index_response();
  };
  c.stabilize();
  REQUIRE(answers.size() == 1);
  CHECK_FALSE(answers[0].read_index_response().rejected());
  CHECK(answers[0].read_index_response().read_index() == 1);
}

TEST_CASE("a follower's read whose request was lost fails after two election timeouts") {
  Cluster c({1, 2, 3});  // election_ticks 10
  c.elect(1);
  c.core(1).propose("x");
  c.stabilize();
  c.drop = [](const pb::Message& m) { return m.has_read_index_request(); };
  REQUIRE(c.core(2).read_index(40) == ReadResult::kAccepted);
  c.stabilize();
  c.drop = nullptr;
  REQUIRE(c.core(2).read_index(41) == ReadResult::kAccepted);  // this one arrives
  c.stabilize();
  CHECK(has_read(c.member(2), 41, 2));
  // The leader stays, and its heartbeats keep n2 following it meanwhile.
  for (int i = 0; i < 19; ++i) {
    c.tick_all();
    c.stabilize();
  }
  CHECK_FALSE(failed(c.member(2), 40));
  c.tick_all();
  c.stabilize();
  CHECK(failed(c.member(2), 40));
  CHECK_FALSE(failed(c.member(2), 41));
  CHECK(c.core(2).leader() == 1);
  CHECK(c.core(1).role() == Role::kLeader);
  // A late answer is ignored: the read was answered once, by failing.
  pb::Message late;
  late.set_from(1);
  late.set_to(2);
  late.set_term(c.core(2).term());
  late.mutable_read_index_response()->add_request_ids(40);
  late.mutable_read_index_response()->set_read_index(2);
  c.core(2).step(late);
  c.process(2);
  CHECK_FALSE(has_read(c.member(2), 40, 2));
}
