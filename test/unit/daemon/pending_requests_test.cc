// PendingRequests and ReadsAwaitingApply: every request answered exactly
// once (taken, expired or failed), in the right order, however the answers
// interleave.
#include <catch2/catch.hpp>

#include <cstdint>
#include <utility>
#include <vector>

#include "daemon/pending_requests.h"

using raftkv::daemon::PendingRequests;
using raftkv::daemon::ReadsAwaitingApply;
using raftkv::daemon::RequestCallback;
using raftkv::daemon::RequestResult;
using raftkv::daemon::RequestStatus;

namespace {

// A callback that records (id, status) into `log`.
RequestCallback recorder(std::vector<std::pair<std::uint64_t, RequestStatus>>* log,
                         std::uint64_t id) {
  return [log, id](const RequestResult& r) { log->emplace_back(id, r.status); };
}

}  // namespace

TEST_CASE("requests are taken once, in any order", "[pending]") {
  PendingRequests pending;
  std::vector<std::pair<std::uint64_t, RequestStatus>> log;
  for (std::uint64_t id = 10; id < 20; ++id) pending.add(id, 1000, recorder(&log, id));
  CHECK(pending.size() == 10);
  for (const std::uint64_t id : {15, 10, 19, 11}) {
    RequestCallback done = pending.take(id);
    REQUIRE(done);
    done({RequestStatus::kOk, id, ""});
    CHECK_FALSE(pending.contains(id));
    CHECK_FALSE(pending.take(id));  // a second take finds nothing
  }
  CHECK(pending.size() == 6);
  CHECK(pending.contains(12));
  CHECK_FALSE(pending.contains(9));
  CHECK_FALSE(pending.take(99));
  REQUIRE(log.size() == 4);
  CHECK(log[0].first == 15);
}

TEST_CASE("expire answers what is due, once; fail_all the rest", "[pending]") {
  PendingRequests pending;
  std::vector<std::pair<std::uint64_t, RequestStatus>> log;
  pending.add(1, 100, recorder(&log, 1));
  pending.add(2, 100, recorder(&log, 2));
  pending.add(3, 200, recorder(&log, 3));
  pending.add(4, 300, recorder(&log, 4));
  pending.take(2)({RequestStatus::kOk, 0, ""});
  pending.expire(99);
  CHECK(log.size() == 1);
  pending.expire(200);  // 1 and 3 time out; 2 was answered already
  REQUIRE(log.size() == 3);
  CHECK(log[1] == std::make_pair(std::uint64_t{1}, RequestStatus::kTimeout));
  CHECK(log[2] == std::make_pair(std::uint64_t{3}, RequestStatus::kTimeout));
  CHECK(pending.size() == 1);
  pending.add(5, 400, recorder(&log, 5));
  pending.fail_all({RequestStatus::kUnavailable, 0, "down"});
  REQUIRE(log.size() == 5);
  CHECK(log[3] == std::make_pair(std::uint64_t{4}, RequestStatus::kUnavailable));
  CHECK(log[4] == std::make_pair(std::uint64_t{5}, RequestStatus::kUnavailable));
  CHECK(pending.size() == 0);
  pending.expire(1000);
  CHECK(log.size() == 5);
}

TEST_CASE("ids added out of order are still found", "[pending]") {
  PendingRequests pending;
  std::vector<std::pair<std::uint64_t, RequestStatus>> log;
  for (const std::uint64_t id : {5, 9, 7, 1}) pending.add(id, 100, recorder(&log, id));
  for (const std::uint64_t id : {1, 5, 7, 9}) CHECK(pending.contains(id));
  pending.take(7)({RequestStatus::kOk, 0, ""});
  pending.expire(100);
  REQUIRE(log.size() == 4);
  CHECK(log[0].first == 7);
  CHECK(pending.size() == 0);
}

TEST_CASE("one old request does not keep every later one in memory", "[pending]") {
  PendingRequests pending;
  std::vector<std::pair<std::uint64_t, RequestStatus>> log;
  pending.add(1, 1'000'000, recorder(&log, 1));  // stuck until its deadline
  for (std::uint64_t id = 2; id < 100'000; ++id) {
    pending.add(id, 1'000'000, recorder(&log, id));
    pending.take(id)({RequestStatus::kOk, 0, ""});
  }
  CHECK(pending.size() == 1);
  CHECK(pending.contains(1));
  pending.expire(1'000'000);
  CHECK(log.back() == std::make_pair(std::uint64_t{1}, RequestStatus::kTimeout));
}

TEST_CASE("reads are released in index order up to the applied index", "[pending]") {
  ReadsAwaitingApply reads;
  reads.add(5, 50);
  reads.add(7, 70);
  reads.add(5, 51);
  reads.add(3, 30);  // an older index after newer ones
  std::vector<std::pair<std::uint64_t, std::uint64_t>> released;
  const auto release = [&](std::uint64_t id, std::uint64_t index) {
    released.emplace_back(id, index);
  };
  reads.release_up_to(2, release);
  CHECK(released.empty());
  reads.release_up_to(5, release);
  REQUIRE(released.size() == 3);
  CHECK(released[0] == std::make_pair(std::uint64_t{30}, std::uint64_t{3}));
  CHECK(released[1] == std::make_pair(std::uint64_t{50}, std::uint64_t{5}));
  CHECK(released[2] == std::make_pair(std::uint64_t{51}, std::uint64_t{5}));
  reads.release_up_to(9, release);
  REQUIRE(released.size() == 4);
  CHECK(released[3] == std::make_pair(std::uint64_t{70}, std::uint64_t{7}));
}
