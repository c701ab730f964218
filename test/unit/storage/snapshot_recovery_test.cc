// The log next to snapshots: compaction, reset after an install, and
// recovery choosing a snapshot (falling back, refusing, dropping a stale log).
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include "storage/record.h"
#include "storage/segment.h"
#include "storage/snapshot_file.h"
#include "test_util.h"

using namespace raftkv;
using namespace raftkv::storage;
using namespace raftkv::storage::test;

namespace {

using KvMap = std::map<std::string, std::string>;

std::string make_snapshot(const std::string& dir, std::uint64_t index, std::uint64_t term,
                          const KvMap& pairs = {{"at", ""}}) {
  pb::SnapshotMeta meta;
  meta.set_index(index);
  meta.set_term(term);
  pb::Member* member = meta.mutable_config()->add_members();
  member->set_id(1);
  member->set_raft_address("127.0.0.1:3031");
  std::string error;
  auto writer = SnapshotWriter::create(dir, meta, &error);
  REQUIRE(writer != nullptr);
  for (const auto& [key, value] : pairs) {
    REQUIRE(writer->add(key, value.empty() ? std::to_string(index) : value, &error));
  }
  REQUIRE(writer->finish(&error));
  return writer->path();
}

// The log on disk (recovery keeps in memory only what follows the snapshot).
LogExtent disk_log(const std::string& dir) {
  DirScan scan;
  REQUIRE(scan_dir(dir, &scan) == 0);
  ExtentBuilder builder;
  REQUIRE(replay_log(scan, &builder).empty());
  return builder.extent();
}

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t last) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t i = first; i <= last; ++i) out.push_back(i);
  return out;
}

// Flips a byte in the snapshot's body: its checksum fails at the body's start.
std::uint64_t corrupt_body(const std::string& path) {
  std::string bytes = read_file(path);
  const std::uint64_t body = get_u32(bytes.data() + 12);
  bytes[bytes.size() - 1] = static_cast<char>(bytes[bytes.size() - 1] ^ 0x01);
  write_file(path, bytes);
  return body;
}

WalOptions small_segments() {
  WalOptions options;
  options.segment_bytes = 120;  // two or three entries a segment
  return options;
}

// Entries first..last of `term`, one write each, into segments of ~120 bytes.
void fill(const std::string& dir, std::uint64_t first, std::uint64_t last, std::uint64_t term = 1) {
  Loop loop;
  RecoveredState recovered;
  auto wal = open_ok(loop, dir, &recovered, small_segments());
  for (std::uint64_t i = first; i <= last; ++i) {
    REQUIRE(write_now(loop, *wal, hard_state(term, 1), entries(i, i, term)) == 0);
  }
  close_now(loop, wal);
}

int run_now(Loop& loop, const std::function<void(Wal::Done)>& start) {
  int status = 1;
  start([&](int s) { status = s; });
  loop.run();
  REQUIRE(status != 1);
  return status;
}

std::vector<std::uint64_t> segment_firsts(const std::string& dir) {
  std::vector<std::uint64_t> firsts;
  for (const std::string& name : segment_names(dir)) firsts.push_back(std::stoull(name));
  return firsts;
}

std::uint64_t bytes_of_segments(const std::string& dir) {
  std::uint64_t total = 0;
  for (const std::string& name : segment_names(dir)) {
    total += std::filesystem::file_size(dir + "/" + name);
  }
  return total;
}

// Records what recovery feeds it, as a state machine would.
class MapSink : public SnapshotSink {
 public:
  void pair(std::string_view key, std::string_view value) override {
    map[std::string(key)] = std::string(value);
  }
  void discard() override {
    map.clear();
    ++discards;
  }
  KvMap map;
  int discards = 0;
};

std::unique_ptr<Wal> open_with(Loop& loop, const std::string& dir, RecoveredState* recovered,
                               SnapshotSink* sink) {
  std::string error;
  auto wal = Wal::open(loop.get(), dir, small_segments(), recovered, &error, sink);
  INFO(error);
  REQUIRE(wal != nullptr);
  return wal;
}

}  // namespace

TEST_CASE("compaction deletes only closed segments wholly covered", "[compact]") {
  TempDir tmp;
  fill(tmp.path(), 1, 30);
  make_snapshot(tmp.path(), 20, 1);
  const std::vector<std::uint64_t> before = segment_firsts(tmp.path());
  REQUIRE(before.size() >= 8);
  Loop loop;
  RecoveredState recovered;
  auto wal = open_ok(loop, tmp.path(), &recovered, small_segments());
  CHECK(wal->metrics().log_bytes == bytes_of_segments(tmp.path()));
  REQUIRE(run_now(loop, [&](Wal::Done done) { wal->compact(17, std::move(done)); }) == 0);
  const std::vector<std::uint64_t> after = segment_firsts(tmp.path());
  // Exactly the segments whose successor starts at or below 18 went.
  std::vector<std::uint64_t> expected;
  for (std::size_t i = 0; i < before.size(); ++i) {
    if (i + 1 == before.size() || before[i + 1] > 18) expected.push_back(before[i]);
  }
  CHECK(after == expected);
  CHECK(after.front() <= 18);
  CHECK(wal->metrics().segments_compacted == before.size() - after.size());
  CHECK(wal->metrics().log_bytes == bytes_of_segments(tmp.path()));
  // Beyond the log's end: every closed segment goes, the active one stays.
  REQUIRE(write_now(loop, *wal, std::nullopt, entries(31, 31, 1)) == 0);
  make_snapshot(tmp.path(), 31, 1);
  const std::uint64_t active = segment_firsts(tmp.path()).back();
  REQUIRE(run_now(loop, [&](Wal::Done done) { wal->compact(1000, std::move(done)); }) == 0);
  CHECK(segment_firsts(tmp.path()) == std::vector<std::uint64_t>{active});
  close_now(loop, wal);

  RecoveredState back = reopen(tmp.path());
  REQUIRE(back.snapshot);
  CHECK(back.snapshot->meta.index() == 31);
  CHECK(back.entries.empty());  // all at or below the snapshot
  const LogExtent log = disk_log(tmp.path());
  CHECK(log.first == active);
  CHECK(log.last() == 31);
}

TEST_CASE("compaction is queued behind earlier writes, in order", "[compact]") {
  TempDir tmp;
  fill(tmp.path(), 1, 20);
  make_snapshot(tmp.path(), 16, 1);
  Loop loop;
  RecoveredState recovered;
  auto wal = open_ok(loop, tmp.path(), &recovered, small_segments());
  std::vector<std::string> order;
  auto note = [&](std::string what) {
    return [&order, what](int s) { order.push_back(what + ":" + std::to_string(s)); };
  };
  wal->write(std::nullopt, entries(21, 23, 1), note("w1"));
  wal->write(std::nullopt, entries(24, 26, 1), note("w2"));
  wal->compact(16, note("c"));
  wal->write(std::nullopt, entries(27, 27, 1), note("w3"));
  loop.run();
  CHECK(order == std::vector<std::string>{"w1:0", "w2:0", "c:0", "w3:0"});
  close_now(loop, wal);
  RecoveredState back = reopen(tmp.path());
  CHECK(indexes(back.entries) == range(17, 27));
  const LogExtent log = disk_log(tmp.path());
  CHECK(log.first > 1);
  CHECK(log.first <= 17);
  CHECK(log.last() == 27);
  CHECK(segment_firsts(tmp.path()).front() == log.first);
}

TEST_CASE("reset after an install, then writes from the snapshot's index + 1", "[reset]") {
  TempDir tmp;
  fill(tmp.path(), 1, 30);
  Loop loop;
  RecoveredState recovered;
  auto wal = open_ok(loop, tmp.path(), &recovered, small_segments());
  make_snapshot(tmp.path(), 100, 3);  // received from the leader
  int reset_status = 1;
  int dropped_status = 1;
  // Queued before the reset: goes away with the log.
  wal->write(std::nullopt, entries(31, 32, 1), [&](int s) { dropped_status = s; });
  wal->reset(100, [&](int s) { reset_status = s; });
  CHECK(wal->last_index() == 100);
  int refused = 1;
  wal->write(std::nullopt, entries(100, 100, 3), [&](int s) { refused = s; });
  REQUIRE(write_now(loop, *wal, hard_state(3, 2), entries(101, 105, 3)) == 0);
  CHECK(dropped_status == 0);
  CHECK(reset_status == 0);
  CHECK(refused == UV_EINVAL);
  CHECK(segment_names(tmp.path()).front() == segment_file_name(101));
  CHECK(wal->metrics().log_resets == 1);
  CHECK(wal->metrics().log_bytes == bytes_of_segments(tmp.path()));
  close_now(loop, wal);

  RecoveredState back = reopen(tmp.path());
  REQUIRE(back.snapshot);
  CHECK(back.snapshot->meta.index() == 100);
  CHECK(back.snapshot->meta.term() == 3);
  CHECK(indexes(back.entries) == std::vector<std::uint64_t>{101, 102, 103, 104, 105});
  CHECK(back.hard_state.term() == 3);
}

TEST_CASE("a reset alone empties the log; writes go on from the snapshot's index + 1", "[reset]") {
  TempDir tmp;
  fill(tmp.path(), 1, 12);
  {
    Loop loop;
    RecoveredState recovered;
    auto wal = open_ok(loop, tmp.path(), &recovered, small_segments());
    make_snapshot(tmp.path(), 40, 2);
    REQUIRE(run_now(loop, [&](Wal::Done done) { wal->reset(40, std::move(done)); }) == 0);
    CHECK(segment_names(tmp.path()).empty());
    CHECK(wal->metrics().log_bytes == 0);
    // A later batch starts a new segment from no active file at all.
    REQUIRE(write_now(loop, *wal, std::nullopt, entries(41, 41, 2)) == 0);
    CHECK(segment_names(tmp.path()) == std::vector<std::string>{segment_file_name(41)});
    close_now(loop, wal);
  }
  Loop loop;
  RecoveredState back;
  auto wal = open_ok(loop, tmp.path(), &back, small_segments());
  REQUIRE(back.snapshot);
  CHECK(indexes(back.entries) == std::vector<std::uint64_t>{41});
  CHECK(wal->last_index() == 41);
  CHECK(write_now(loop, *wal, std::nullopt, entries(40, 40, 2)) == UV_EINVAL);
  CHECK(write_now(loop, *wal, std::nullopt, entries(42, 43, 2)) == 0);
  close_now(loop, wal);
  CHECK(indexes(reopen(tmp.path()).entries) == std::vector<std::uint64_t>{41, 42, 43});
}

TEST_CASE("recovery keeps a log that holds the snapshot's last entry", "[recovery-snapshot]") {
  TempDir tmp;
  fill(tmp.path(), 1, 30);
  make_snapshot(tmp.path(), 20, 1, {{"a", "1"}, {"b", "2"}});
  Loop loop;
  RecoveredState back;
  MapSink sink;
  auto wal = open_with(loop, tmp.path(), &back, &sink);
  REQUIRE(back.snapshot);
  CHECK(back.snapshot->path == tmp.file(snapshot_file_name(20, 1)));
  CHECK(back.snapshot->pair_count == 2);
  CHECK(sink.map == KvMap{{"a", "1"}, {"b", "2"}});
  CHECK(sink.discards == 0);
  // Only the entries after the snapshot: the core would drop the others.
  CHECK(indexes(back.entries) == range(21, 30));
  CHECK(disk_log(tmp.path()).first == 1);  // still on disk, not compacted
  // Writes go on after the log's end.
  REQUIRE(write_now(loop, *wal, std::nullopt, entries(31, 31, 1)) == 0);
  close_now(loop, wal);
  CHECK(indexes(reopen(tmp.path()).entries) == range(21, 31));
}

TEST_CASE("a corrupt newest snapshot falls back to an older one", "[recovery-snapshot]") {
  TempDir tmp;
  fill(tmp.path(), 1, 30);
  make_snapshot(tmp.path(), 10, 1, {{"old", "10"}});
  const std::string newest = make_snapshot(tmp.path(), 20, 1, {{"new", "20"}});
  const std::string bytes = read_file(newest);
  corrupt_body(newest);
  Loop loop;
  RecoveredState back;
  MapSink sink;
  auto wal = open_with(loop, tmp.path(), &back, &sink);
  REQUIRE(back.snapshot);
  CHECK(back.snapshot->meta.index() == 10);
  CHECK(sink.map == KvMap{{"old", "10"}});  // what the corrupt one delivered was discarded
  CHECK(sink.discards == 1);
  // The fallback needs what follows the older snapshot: read again.
  CHECK(indexes(back.entries) == range(11, 30));
  CHECK(std::filesystem::exists(newest));  // left for the operator
  close_now(loop, wal);
}

TEST_CASE("a corrupt snapshot with the log from index 1 falls back to the log alone",
          "[recovery-snapshot]") {
  TempDir tmp;
  fill(tmp.path(), 1, 30);
  corrupt_body(make_snapshot(tmp.path(), 20, 1));
  RecoveredState back = reopen(tmp.path());
  CHECK_FALSE(back.snapshot);
  CHECK(back.entries.size() == 30);
}

TEST_CASE("a corrupt snapshot with no usable fallback is refused", "[recovery-snapshot]") {
  TempDir tmp;
  fill(tmp.path(), 1, 30);
  const std::string newest = make_snapshot(tmp.path(), 20, 1);
  std::uint64_t offset = 0;
  SECTION("the log was compacted past index 1, no older snapshot") {
    {
      Loop loop;
      RecoveredState recovered;
      auto wal = open_ok(loop, tmp.path(), &recovered, small_segments());
      REQUIRE(run_now(loop, [&](Wal::Done done) { wal->compact(15, std::move(done)); }) == 0);
      close_now(loop, wal);
    }
    offset = corrupt_body(newest);
  }
  SECTION("the older snapshot is below the compacted log") {
    make_snapshot(tmp.path(), 5, 1);
    {
      Loop loop;
      RecoveredState recovered;
      auto wal = open_ok(loop, tmp.path(), &recovered, small_segments());
      REQUIRE(run_now(loop, [&](Wal::Done done) { wal->compact(15, std::move(done)); }) == 0);
      close_now(loop, wal);
    }
    REQUIRE(segment_firsts(tmp.path()).front() > 6);
    offset = corrupt_body(newest);
  }
  SECTION("the log was reset to the newest snapshot: nothing rebuilds it") {
    make_snapshot(tmp.path(), 5, 1);
    {
      Loop loop;
      RecoveredState recovered;
      auto wal = open_ok(loop, tmp.path(), &recovered, small_segments());
      REQUIRE(run_now(loop, [&](Wal::Done done) { wal->reset(20, std::move(done)); }) == 0);
      close_now(loop, wal);
    }
    offset = corrupt_body(newest);
  }
  SECTION("a damaged header, and no log to rebuild from an older snapshot") {
    make_snapshot(tmp.path(), 5, 1);
    for (const std::string& name : segment_names(tmp.path())) {
      std::filesystem::remove(tmp.file(name));
    }
    std::string bytes = read_file(newest);
    bytes[0] = 'X';
    write_file(newest, bytes);
    offset = 0;
  }
  Loop loop;
  const std::string error = open_error(loop, tmp.path());
  CHECK(error.rfind(newest + ": corrupt snapshot at offset " + std::to_string(offset) + " (", 0) ==
        0);
  CHECK(error.ends_with(") and no usable older snapshot"));
  CHECK(std::filesystem::exists(newest));
}

TEST_CASE("recovery keeps in memory only the entries after the snapshot, truncations included",
          "[recovery-snapshot]") {
  TempDir tmp;
  {
    Loop loop;
    RecoveredState recovered;
    auto wal = open_ok(loop, tmp.path(), &recovered, small_segments());
    REQUIRE(write_now(loop, *wal, hard_state(1, 1), entries(1, 30, 1)) == 0);
    // A new leader's entries replace 25..30: a truncation above the snapshot.
    REQUIRE(write_now(loop, *wal, hard_state(2, 2), entries(25, 32, 2)) == 0);
    close_now(loop, wal);
  }
  REQUIRE(segment_firsts(tmp.path()).size() > 2);
  make_snapshot(tmp.path(), 20, 1);
  SECTION("snapshot below the truncation") {
    RecoveredState back = reopen(tmp.path());
    CHECK(indexes(back.entries) == range(21, 32));
    CHECK(back.entries[3].term() == 1);  // 24
    CHECK(back.entries[4].term() == 2);  // 25
  }
  SECTION("a newer snapshot past it, whose header cannot be read: the older one is used") {
    const std::string newest = make_snapshot(tmp.path(), 26, 2);
    write_file(newest, read_file(newest).substr(0, 3));
    RecoveredState back = reopen(tmp.path());
    REQUIRE(back.snapshot);
    CHECK(back.snapshot->meta.index() == 20);
    CHECK(indexes(back.entries) == range(21, 32));
  }
  SECTION("the newest snapshot, after the truncation") {
    make_snapshot(tmp.path(), 26, 2);
    Loop loop;
    RecoveredState back;
    auto wal = open_ok(loop, tmp.path(), &back, small_segments());
    CHECK(indexes(back.entries) == range(27, 32));
    CHECK(wal->last_index() == 32);
    REQUIRE(write_now(loop, *wal, std::nullopt, entries(33, 33, 2)) == 0);
    close_now(loop, wal);
    CHECK(indexes(reopen(tmp.path()).entries) == range(27, 33));
    CHECK(disk_log(tmp.path()).first == 1);
  }
}

TEST_CASE("a stale log left by an install interrupted before its reset is dropped",
          "[recovery-snapshot]") {
  TempDir tmp;
  fill(tmp.path(), 1, 30);
  std::uint64_t snapshot_index = 50;
  std::uint64_t snapshot_term = 3;
  SECTION("the snapshot is past the log's end") {}
  SECTION("the log holds the snapshot's index with another term") {
    snapshot_index = 20;
  }
  SECTION("the reset was half done (newest segments gone)") {
    auto names = segment_names(tmp.path());
    for (std::size_t i = names.size() / 2; i < names.size(); ++i) {
      std::filesystem::remove(tmp.file(names[i]));
    }
    REQUIRE(names.size() / 2 > 0);
  }
  make_snapshot(tmp.path(), snapshot_index, snapshot_term, {{"k", "v"}});
  Loop loop;
  RecoveredState back;
  MapSink sink;
  auto wal = open_with(loop, tmp.path(), &back, &sink);
  REQUIRE(back.snapshot);
  CHECK(back.snapshot->meta.index() == snapshot_index);
  CHECK(back.entries.empty());
  CHECK(segment_names(tmp.path()).empty());
  CHECK(sink.map == KvMap{{"k", "v"}});
  CHECK(wal->last_index() == snapshot_index);
  CHECK(write_now(loop, *wal, std::nullopt, entries(snapshot_index + 1, snapshot_index + 2, 3)) ==
        0);
  close_now(loop, wal);
  CHECK(reopen(tmp.path()).entries.size() == 2);
}

TEST_CASE("a log that starts after the snapshot ends is refused", "[recovery-snapshot]") {
  TempDir tmp;
  fill(tmp.path(), 1, 30);
  make_snapshot(tmp.path(), 5, 1);
  auto names = segment_names(tmp.path());
  std::size_t i = 0;
  while (std::stoull(names[i + 1]) <= 7) ++i;
  for (std::size_t j = 0; j <= i; ++j) std::filesystem::remove(tmp.file(names[j]));
  const std::string first = names[i + 1];
  Loop loop;
  CHECK(open_error(loop, tmp.path()) ==
        tmp.file(first) + ": corrupt record at offset 0 (index gap: log starts at index " +
            std::to_string(std::stoull(first)) + ", the newest snapshot " +
            snapshot_file_name(5, 1) + " ends at index 5)");
}

TEST_CASE("leftover snapshot tmp files are removed at open", "[recovery-snapshot]") {
  TempDir tmp;
  fill(tmp.path(), 1, 3);
  write_file(tmp.file(snapshot_file_name(9, 1) + ".tmp"), "half a snapshot");
  write_file(tmp.file(snapshot_file_name(2, 1) + ".tmp"), "");
  RecoveredState back = reopen(tmp.path());
  CHECK_FALSE(back.snapshot);
  CHECK_FALSE(std::filesystem::exists(tmp.file(snapshot_file_name(9, 1) + ".tmp")));
  CHECK_FALSE(std::filesystem::exists(tmp.file(snapshot_file_name(2, 1) + ".tmp")));
}

TEST_CASE("a missing hard state next to snapshots is refused", "[recovery-snapshot]") {
  TempDir tmp;
  fill(tmp.path(), 1, 3);
  make_snapshot(tmp.path(), 3, 1);
  for (const std::string& name : segment_names(tmp.path())) std::filesystem::remove(tmp.file(name));
  std::filesystem::remove(tmp.file("hardstate"));
  Loop loop;
  CHECK(open_error(loop, tmp.path()) ==
        tmp.file("hardstate") +
            ": corrupt record at offset 0 (missing, but the directory has snapshots)");
}
