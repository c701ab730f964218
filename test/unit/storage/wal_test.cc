// The async writer end to end: real files, a real loop.
#include <catch2/catch.hpp>

#include <cerrno>

#include "storage/segment.h"
#include "test_util.h"

using namespace raftkv::storage;
using namespace raftkv::storage::test;
using raftkv::pb::Entry;

TEST_CASE("an empty directory is a fresh member", "[wal]") {
  TempDir tmp;
  const std::string dir = tmp.file("data/member-1");  // parents are created too
  RecoveredState recovered = reopen(dir);
  CHECK(recovered.entries.empty());
  CHECK(recovered.hard_state.term() == 0);
  CHECK(recovered.hard_state.vote() == 0);
  CHECK(std::filesystem::exists(dir + "/hardstate"));
  CHECK(reopen(dir).entries.empty());
}

TEST_CASE("entries and hard state survive restarts", "[wal]") {
  TempDir tmp;
  {
    Loop loop;
    RecoveredState recovered;
    auto wal = open_ok(loop, tmp.path(), &recovered);
    CHECK(write_now(loop, *wal, hard_state(1, 2), entries(1, 3, 1)) == 0);
    CHECK(write_now(loop, *wal, std::nullopt, entries(4, 5, 1)) == 0);
    close_now(loop, wal);
  }
  RecoveredState first = reopen(tmp.path());
  CHECK(indexes(first.entries) == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
  CHECK(first.entries[3].data() == "value-4-1");
  CHECK(first.entries[3].term() == 1);
  CHECK(first.hard_state.term() == 1);
  CHECK(first.hard_state.vote() == 2);
  {
    Loop loop;
    RecoveredState recovered;
    auto wal = open_ok(loop, tmp.path(), &recovered);
    CHECK(wal->last_index() == 5);
    CHECK(write_now(loop, *wal, hard_state(7, 0), entries(6, 6, 7)) == 0);
    close_now(loop, wal);
  }
  RecoveredState second = reopen(tmp.path());
  CHECK(indexes(second.entries) == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6});
  CHECK(second.hard_state.term() == 7);
  CHECK(second.hard_state.vote() == 0);
  CHECK_FALSE(std::filesystem::exists(tmp.file("hardstate.tmp")));
}

TEST_CASE("writes queued while one is in flight share one fsync", "[wal]") {
  TempDir tmp;
  Loop loop;
  RecoveredState recovered;
  auto wal = open_ok(loop, tmp.path(), &recovered);
  std::vector<int> order;
  for (std::uint64_t i = 1; i <= 1000; ++i) {
    wal->write(std::nullopt, {entry(i, 1)}, [&order, i](int status) {
      REQUIRE(status == 0);
      order.push_back(static_cast<int>(i));
    });
  }
  loop.run();
  REQUIRE(order.size() == 1000);
  CHECK(std::is_sorted(order.begin(), order.end()));
  const WalMetrics& m = wal->metrics();
  CHECK(m.fsyncs <= 2);  // the first write alone, then the other 999 together
  CHECK(m.batches <= 2);
  CHECK(m.entries_written == 1000);
  CHECK(m.max_entries_per_fsync >= 999);
  CHECK(m.writes == 1000);
  CHECK(m.fsync_latency.count() == m.fsyncs);
  CHECK(m.bytes_written > 1000 * 12);
  close_now(loop, wal);
  CHECK(reopen(tmp.path()).entries.size() == 1000);
}

TEST_CASE("with batch_until_kick, writes queued behind a batch wait for kick() or a write",
          "[wal]") {
  TempDir tmp;
  Loop loop;
  RecoveredState recovered;
  WalOptions options;
  options.batch_until_kick = true;
  auto wal = open_ok(loop, tmp.path(), &recovered, options);
  std::vector<int> order;
  auto write = [&](std::uint64_t i) {
    wal->write(std::nullopt, {entry(i, 1)}, [&order, i](int status) {
      REQUIRE(status == 0);
      order.push_back(static_cast<int>(i));
    });
  };
  write(1);    // starts at once: nothing in flight
  write(2);    // queued behind it
  loop.run();  // returns once 1 is durable: 2 waits for the caller
  CHECK(order == std::vector<int>{1});
  CHECK(wal->metrics().batches == 1);
  wal->kick();  // starts 2
  write(3);     // queued behind 2: waits again
  loop.run();
  CHECK(order == std::vector<int>{1, 2});
  CHECK(wal->metrics().batches == 2);
  wal->kick();
  wal->kick();  // 3 is in flight: nothing to start
  loop.run();
  CHECK(order == std::vector<int>{1, 2, 3});
  CHECK(wal->metrics().batches == 3);

  // A write while writes wait starts them all as one batch.
  write(4);
  write(5);
  loop.run();
  CHECK(order.back() == 4);
  const std::uint64_t batches = wal->metrics().batches;
  write(6);
  loop.run();
  CHECK(order == std::vector<int>{1, 2, 3, 4, 5, 6});
  CHECK(wal->metrics().batches == batches + 1);  // 5 and 6 together
  CHECK(wal->metrics().max_entries_per_fsync >= 2);

  // close() finishes what waits before closing.
  write(7);
  write(8);
  loop.run();
  bool closed = false;
  wal->close([&] { closed = true; });
  loop.run();
  CHECK(order == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(closed);
  wal.reset();
  CHECK(reopen(tmp.path()).entries.size() == 8);
}

TEST_CASE("callbacks run in submission order, after durability", "[wal]") {
  TempDir tmp;
  Loop loop;
  RecoveredState recovered;
  auto wal = open_ok(loop, tmp.path(), &recovered);
  std::vector<std::string> events;
  bool reentered = false;
  wal->write(hard_state(1, 1), entries(1, 2, 1), [&](int s) {
    events.push_back("a" + std::to_string(s));
    // A write from inside a callback queues behind the others.
    wal->write(std::nullopt, entries(6, 6, 1), [&](int s2) {
      reentered = true;
      events.push_back("d" + std::to_string(s2));
    });
  });
  wal->write(std::nullopt, entries(3, 4, 1),
             [&](int s) { events.push_back("b" + std::to_string(s)); });
  wal->write(hard_state(2, 0), entries(5, 5, 2),
             [&](int s) { events.push_back("c" + std::to_string(s)); });
  CHECK(events.empty());  // never from inside write()
  loop.run();
  CHECK(reentered);
  CHECK(events == std::vector<std::string>{"a0", "b0", "c0", "d0"});
  close_now(loop, wal);
  RecoveredState back = reopen(tmp.path());
  CHECK(indexes(back.entries) == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6});
  CHECK(back.hard_state.term() == 2);
}

TEST_CASE("segments roll over when full", "[wal]") {
  TempDir tmp;
  WalOptions options;
  options.segment_bytes = 256;
  {
    Loop loop;
    RecoveredState recovered;
    auto wal = open_ok(loop, tmp.path(), &recovered, options);
    for (std::uint64_t i = 1; i <= 40; i += 4) {
      REQUIRE(write_now(loop, *wal, std::nullopt, entries(i, i + 3, 1)) == 0);
    }
    // One big batch spanning several segments.
    REQUIRE(write_now(loop, *wal, std::nullopt, entries(41, 80, 1)) == 0);
    CHECK(wal->metrics().segments_created > 5);
    close_now(loop, wal);
  }
  const auto names = segment_names(tmp.path());
  REQUIRE(names.size() > 5);
  CHECK(names.front() == segment_file_name(1));
  for (const auto& name : names) {
    CHECK(std::filesystem::file_size(tmp.file(name)) <= 256);
  }
  RecoveredState back = reopen(tmp.path(), options);
  REQUIRE(back.entries.size() == 80);
  for (std::uint64_t i = 0; i < 80; ++i) CHECK(back.entries[i].index() == i + 1);
}

TEST_CASE("a truncated suffix is replaced and stays replaced", "[wal]") {
  TempDir tmp;
  WalOptions options;
  options.segment_bytes = 200;
  Loop loop;
  RecoveredState recovered;
  auto wal = open_ok(loop, tmp.path(), &recovered, options);
  REQUIRE(write_now(loop, *wal, hard_state(1, 1), entries(1, 30, 1)) == 0);
  const std::size_t segments_before = segment_names(tmp.path()).size();
  REQUIRE(segments_before > 3);

  SECTION("within the active segment") {
    const std::uint64_t from = wal->last_index();  // replace only the last entry
    REQUIRE(write_now(loop, *wal, hard_state(2, 2), entries(from, from + 1, 2)) == 0);
    close_now(loop, wal);
    RecoveredState back = reopen(tmp.path(), options);
    REQUIRE(back.entries.size() == 31);
    CHECK(back.entries[29].term() == 2);
    CHECK(back.entries[28].term() == 1);
    CHECK(back.entries[30].term() == 2);
  }
  SECTION("reaching back across segments") {
    REQUIRE(write_now(loop, *wal, hard_state(3, 3), entries(5, 7, 3)) == 0);
    CHECK(wal->metrics().segments_deleted > 0);
    CHECK(wal->last_index() == 7);
    // Later appends continue after the truncation.
    REQUIRE(write_now(loop, *wal, std::nullopt, entries(8, 9, 3)) == 0);
    close_now(loop, wal);
    RecoveredState back = reopen(tmp.path(), options);
    REQUIRE(indexes(back.entries) == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9});
    CHECK(back.entries[3].term() == 1);
    CHECK(back.entries[4].term() == 3);
    CHECK(back.entries[8].term() == 3);
  }
  SECTION("back to index 1") {
    REQUIRE(write_now(loop, *wal, hard_state(4, 0), entries(1, 2, 4)) == 0);
    close_now(loop, wal);
    RecoveredState back = reopen(tmp.path(), options);
    REQUIRE(indexes(back.entries) == std::vector<std::uint64_t>{1, 2});
    CHECK(back.entries[0].term() == 4);
    CHECK(segment_names(tmp.path()).size() == 1);
  }
  SECTION("several truncations folded into one batch") {
    wal->write(std::nullopt, entries(10, 12, 2), [](int s) { REQUIRE(s == 0); });
    wal->write(std::nullopt, entries(11, 11, 3), [](int s) { REQUIRE(s == 0); });
    wal->write(std::nullopt, entries(12, 13, 3), [](int s) { REQUIRE(s == 0); });
    wal->write(std::nullopt, entries(12, 12, 4), [](int s) { REQUIRE(s == 0); });
    loop.run();
    CHECK(wal->last_index() == 12);
    close_now(loop, wal);
    RecoveredState back = reopen(tmp.path(), options);
    REQUIRE(back.entries.size() == 12);
    CHECK(back.entries[9].term() == 2);
    CHECK(back.entries[10].term() == 3);
    CHECK(back.entries[11].term() == 4);
  }
}

TEST_CASE("writes that would leave a gap are refused", "[wal]") {
  TempDir tmp;
  Loop loop;
  RecoveredState recovered;
  auto wal = open_ok(loop, tmp.path(), &recovered);
  CHECK(write_now(loop, *wal, std::nullopt, entries(2, 3, 1)) == -EINVAL);
  CHECK(write_now(loop, *wal, std::nullopt, {entry(1, 1), entry(3, 1)}) == -EINVAL);
  CHECK(write_now(loop, *wal, std::nullopt, entries(1, 1, 1)) == 0);
  CHECK_FALSE(wal->failed());
  close_now(loop, wal);
  CHECK(reopen(tmp.path()).entries.size() == 1);
}

TEST_CASE("a failed write fails everything not yet durable, then every later write", "[wal]") {
  TempDir tmp;
  Loop loop;
  RecoveredState recovered;
  auto wal = open_ok(loop, tmp.path(), &recovered);
  REQUIRE(write_now(loop, *wal, hard_state(1, 1), entries(1, 3, 1)) == 0);

  SECTION("write error (partial write on disk)") {
    // EIO: out of space is retried instead (wal_disk_full_test.cc).
    wal->faults_for_testing().fail_next_write = EIO;
  }
  SECTION("fdatasync error") {
    wal->faults_for_testing().fail_next_sync = EIO;
  }

  std::vector<int> statuses;
  for (std::uint64_t i = 4; i <= 6; ++i) {
    wal->write(std::nullopt, entries(i, i, 1), [&](int s) { statuses.push_back(s); });
  }
  loop.run();
  REQUIRE(statuses.size() == 3);
  CHECK(statuses[0] < 0);
  CHECK(statuses[1] == statuses[0]);
  CHECK(statuses[2] == statuses[0]);
  CHECK(wal->failed());
  CHECK(wal->failure().find(".wal") != std::string::npos);
  // Later writes fail at once with the same error (never acknowledged).
  CHECK(write_now(loop, *wal, std::nullopt, entries(4, 4, 1)) == statuses[0]);
  close_now(loop, wal);
  // What was durable before the failure is intact; a partial tail is torn
  // off. Entry 4 was never acknowledged: after a failed fdatasync it may or
  // may not have reached the disk, both are allowed.
  RecoveredState back = reopen(tmp.path());
  REQUIRE(back.entries.size() >= 3);
  CHECK(back.entries.size() <= 4);
  CHECK(back.entries[2].index() == 3);
  CHECK(back.hard_state.term() == 1);
}

TEST_CASE("close finishes queued writes first; writes after close are cancelled", "[wal]") {
  TempDir tmp;
  Loop loop;
  RecoveredState recovered;
  auto wal = open_ok(loop, tmp.path(), &recovered);
  std::vector<std::string> events;
  wal->write(std::nullopt, entries(1, 1, 1),
             [&](int s) { events.push_back("w1:" + std::to_string(s)); });
  wal->write(std::nullopt, entries(2, 2, 1),
             [&](int s) { events.push_back("w2:" + std::to_string(s)); });
  wal->close([&] { events.push_back("closed"); });
  wal->write(std::nullopt, entries(3, 3, 1),
             [&](int s) { events.push_back(s == UV_ECANCELED ? "w3:cancelled" : "w3:?"); });
  loop.run();
  CHECK(events == std::vector<std::string>{"w1:0", "w2:0", "w3:cancelled", "closed"});
  wal.reset();
  CHECK(reopen(tmp.path()).entries.size() == 2);
}

TEST_CASE("a data directory is used by one Wal at a time", "[wal]") {
  TempDir tmp;
  Loop loop;
  RecoveredState recovered;
  auto wal = open_ok(loop, tmp.path(), &recovered);
  const std::string error = open_error(loop, tmp.path());
  CHECK(error.find("locked") != std::string::npos);
  close_now(loop, wal);
}
