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
  Cluster c({1, 2, 3});
  c.elect(1);
  c.cut(1, 3);
  // 2's request reaches 1, but 1 never hears 3, and 2's heartbeat acks are lost.
  c.drop = [](const pb::Message& m) { return m.from() == 2 && m.has_append_entries_response(); };
  c.core(2).read_index(4);
  c.stabilize();
  for (int i = 0; i < 25; ++i) c.tick(1);
  REQUIRE(c.core(1).role() == Role::kFollower);
  CHECK(failed(c.member(2), 4));
}
