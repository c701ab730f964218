// The Wal's disk-full state: a write that runs out of space (ENOSPC,
// EDQUOT) is cut back and retried until it goes through; nothing is failed
// and nothing is acknowledged before it is durable. Injected failures
// (WalFaults); the live full-disk case is test/hostile/test_disk_faults.py.
#include <catch2/catch.hpp>

#include <cerrno>
#include <filesystem>

#include "storage/segment.h"
#include "test_util.h"

using namespace raftkv::storage;
using namespace raftkv::storage::test;

namespace {

// Fast retries keep the test short; the backoff shape is the same.
WalOptions fast_retries() {
  WalOptions options;
  options.full_retry_first_ms = 5;
  options.full_retry_max_ms = 20;
  return options;
}

}  // namespace

TEST_CASE("a write out of space is retried until it goes through, then acknowledged",
          "[wal][disk-full]") {
  TempDir tmp;
  Loop loop;
  RecoveredState recovered;
  auto wal = open_ok(loop, tmp.path(), &recovered, fast_retries());
  REQUIRE(write_now(loop, *wal, hard_state(1, 1), entries(1, 3, 1)) == 0);
  const std::string segment = tmp.file(segment_file_name(1));
  const auto durable_size = std::filesystem::file_size(segment);

  const int err = GENERATE(ENOSPC, EDQUOT);
  wal->faults_for_testing().fail_next_write = err;
  wal->faults_for_testing().fail_write_times = 4;

  // Callbacks must not run while the disk is full: record what the log
  // looked like whenever one does.
  std::vector<int> statuses;
  std::vector<bool> full_when_done;
  bool saw_full = false;
  std::uintmax_t size_while_full = 0;
  for (std::uint64_t i = 4; i <= 6; ++i) {
    wal->write(std::nullopt, entries(i, i, 1), [&](int s) {
      statuses.push_back(s);
      full_when_done.push_back(wal->disk_full());
    });
    if (i == 4) {
      // Run until the first failure has been seen and cut back.
      while (!wal->disk_full()) uv_run(loop.get(), UV_RUN_ONCE);
      saw_full = true;
      size_while_full = std::filesystem::file_size(segment);
      CHECK(wal->in_flight_since_ms().has_value());
    }
    if (i == 5) {
      // Once the retry goes through, the batch is timed from then on: a
      // stuck-disk check must not count the time spent waiting for space.
      // Four retries wait 5 + 10 + 20 + 20 ms before the write goes in;
      // the fdatasync after it is still in flight when the state ends.
      const std::uint64_t started = *wal->in_flight_since_ms();
      while (wal->disk_full()) uv_run(loop.get(), UV_RUN_ONCE);
      REQUIRE(wal->in_flight_since_ms().has_value());
      CHECK(*wal->in_flight_since_ms() >= started + 55);
    }
  }
  loop.run();
  CHECK(saw_full);
  // The half-written record was cut off: the file ends where the write began.
  CHECK(size_while_full == durable_size);
  REQUIRE(statuses == std::vector<int>{0, 0, 0});
  CHECK(full_when_done == std::vector<bool>{false, false, false});
  CHECK_FALSE(wal->disk_full());
  CHECK_FALSE(wal->failed());
  CHECK_FALSE(wal->in_flight_since_ms().has_value());
  const DiskFullMetrics& m = wal->disk_full_metrics();
  CHECK(m.episodes == 1);
  CHECK(m.retries == 4);
  CHECK(wal->metrics().failed_writes == 0);
  // Later writes go through normally.
  CHECK(write_now(loop, *wal, hard_state(2, 0), entries(7, 7, 2)) == 0);
  close_now(loop, wal);

  RecoveredState back = reopen(tmp.path());
  CHECK(indexes(back.entries) == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7});
  CHECK(back.hard_state.term() == 2);
}

TEST_CASE("a failed fdatasync is never retried, even after running out of space",
          "[wal][disk-full]") {
  TempDir tmp;
  Loop loop;
  RecoveredState recovered;
  auto wal = open_ok(loop, tmp.path(), &recovered, fast_retries());
  REQUIRE(write_now(loop, *wal, hard_state(1, 1), entries(1, 2, 1)) == 0);
  wal->faults_for_testing().fail_next_write = ENOSPC;
  wal->faults_for_testing().fail_next_sync = EIO;
  CHECK(write_now(loop, *wal, std::nullopt, entries(3, 3, 1)) == -EIO);
  CHECK(wal->failed());
  CHECK_FALSE(wal->disk_full());
  CHECK(wal->failure().find(".wal: fdatasync") != std::string::npos);
  CHECK(wal->disk_full_metrics().episodes == 1);
  close_now(loop, wal);
  RecoveredState back = reopen(tmp.path());
  REQUIRE(back.entries.size() >= 2);
  CHECK(back.entries.size() <= 3);
}

TEST_CASE("close does not wait for space: the waiting batch fails, durable data stays",
          "[wal][disk-full]") {
  TempDir tmp;
  Loop loop;
  RecoveredState recovered;
  WalOptions options = fast_retries();
  options.full_retry_first_ms = 60000;  // the retry never comes by itself
  options.full_retry_max_ms = 60000;
  auto wal = open_ok(loop, tmp.path(), &recovered, options);
  REQUIRE(write_now(loop, *wal, hard_state(1, 1), entries(1, 2, 1)) == 0);
  wal->faults_for_testing().fail_next_write = ENOSPC;
  int status = 1;
  wal->write(std::nullopt, entries(3, 3, 1), [&](int s) { status = s; });
  while (!wal->disk_full()) uv_run(loop.get(), UV_RUN_ONCE);
  CHECK(status == 1);    // not answered while waiting for space
  close_now(loop, wal);  // returns at once, not after 60 s
  CHECK(status == -ENOSPC);
  CHECK(indexes(reopen(tmp.path()).entries) == std::vector<std::uint64_t>{1, 2});
}
