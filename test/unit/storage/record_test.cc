// Framing, file names and batch planning: the pure parts.
#include <catch2/catch.hpp>

#include <cerrno>

#include "storage/batch.h"
#include "storage/record.h"
#include "storage/segment.h"
#include "test_util.h"

using namespace raftkv::storage;
using namespace raftkv::storage::test;

TEST_CASE("records round trip and reject damage", "[record]") {
  std::string bytes;
  append_entry_record(entry(7, 3, "hello"), &bytes);
  DecodedRecord record = decode_record(bytes + "trailing");
  REQUIRE(record.status == DecodeStatus::kOk);
  CHECK(record.size == bytes.size());
  CHECK(record.entry.index() == 7);
  CHECK(record.entry.term() == 3);
  CHECK(record.entry.data() == "hello");
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    CHECK(decode_record(std::string_view(bytes).substr(0, cut)).status == DecodeStatus::kShort);
  }
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    std::string damaged = bytes;
    damaged[at] = static_cast<char>(damaged[at] ^ 1);
    CHECK(decode_record(damaged).status != DecodeStatus::kOk);
  }
  CHECK(valid_record_follows("garbage" + bytes, 1));
  CHECK_FALSE(valid_record_follows(bytes, 1));
}

TEST_CASE("records are framed as the disk format says, appended after what is there", "[record]") {
  const auto e = entry(9, 2, std::string(300, 'x'));
  std::string bytes = "prefix";
  append_entry_record(e, &bytes);
  CHECK(bytes.size() == 6 + entry_record_size(e));
  const std::string_view record = std::string_view(bytes).substr(6);
  std::string body(1, static_cast<char>(RecordType::kEntry));
  e.AppendToString(&body);
  CHECK(get_u32(record.data()) == body.size());
  CHECK(get_u32(record.data() + 4) == crc32_of(body.data(), body.size()));
  CHECK(get_u32(record.data() + 8) == crc32_of(record.data(), 8));
  CHECK(record.substr(kRecordHeaderBytes) == body);
}

TEST_CASE("segment names encode the first index", "[record]") {
  CHECK(segment_file_name(1) == "00000000000000000001.wal");
  std::uint64_t first = 0;
  CHECK(parse_segment_file_name("00000000000000012345.wal", &first));
  CHECK(first == 12345);
  CHECK_FALSE(parse_segment_file_name("0000000000000001234.wal", &first));
  CHECK_FALSE(parse_segment_file_name("0000000000000001234x.wal", &first));
  CHECK_FALSE(parse_segment_file_name("00000000000000012345.tmp", &first));
}

TEST_CASE("pending writes fold into keep-through plus a tail", "[batch]") {
  PendingBatch batch(10);
  CHECK(batch.empty());
  CHECK(batch.add(std::nullopt, shared(entries(11, 12, 1))) == 0);
  CHECK(batch.add(std::nullopt, shared(entries(12, 14, 2))) == 0);  // replaces its own 12
  CHECK(batch.keep_through() == 10);
  CHECK(indexes(batch.tail()) == std::vector<std::uint64_t>{11, 12, 13, 14});
  CHECK(batch.tail()[1]->term() == 2);
  CHECK(batch.add(hard_state(3, 1), shared(entries(8, 8, 3))) == 0);  // reaches into durable log
  CHECK(batch.keep_through() == 7);
  CHECK(indexes(batch.tail()) == std::vector<std::uint64_t>{8});
  CHECK(batch.hard_state()->term() == 3);
  CHECK(batch.add(std::nullopt, shared(entries(10, 10, 3))) == -EINVAL);  // gap
  CHECK(batch.add(std::nullopt, shared({entry(9, 3), entry(11, 3)})) == -EINVAL);
  CHECK(batch.add(std::nullopt, shared(entries(0, 0, 3))) == -EINVAL);
  CHECK(batch.last_index() == 8);
}

TEST_CASE("plans roll segments and delete the ones a truncation obsoletes", "[batch]") {
  SECTION("append to the active segment, rolling when full") {
    PendingBatch batch(10);
    REQUIRE(batch.add(std::nullopt, shared(entries(11, 20, 1))) == 0);
    BatchPlan plan = plan_batch(batch, {1, 6}, 190, 256);
    REQUIRE(plan.chunks.size() >= 2);
    CHECK_FALSE(plan.chunks[0].new_segment);
    CHECK(plan.chunks[0].first_index == 6);
    CHECK(plan.chunks[0].offset == 190);
    CHECK(plan.chunks[1].new_segment);
    CHECK(plan.entries == 10);
    CHECK(plan.delete_segments.empty());
  }
  SECTION("truncation below the active segment") {
    PendingBatch batch(30);
    REQUIRE(batch.add(std::nullopt, shared(entries(9, 9, 2))) == 0);
    BatchPlan plan = plan_batch(batch, {1, 10, 20}, 100, 1 << 20);
    // Newest first: a crash half way must not leave a hole (1, 20).
    CHECK(plan.delete_segments == std::vector<std::uint64_t>{20, 10});
    REQUIRE(plan.chunks.size() == 1);
    CHECK(plan.chunks[0].new_segment);
    CHECK(plan.chunks[0].first_index == 9);
  }
  SECTION("truncation inside the active segment is in-band") {
    PendingBatch batch(30);
    REQUIRE(batch.add(std::nullopt, shared(entries(20, 20, 2))) == 0);
    BatchPlan plan = plan_batch(batch, {1, 10, 20}, 100, 1 << 20);
    CHECK(plan.delete_segments.empty());
    REQUIRE(plan.chunks.size() == 1);
    CHECK_FALSE(plan.chunks[0].new_segment);
  }
}

TEST_CASE("a reset drops the log and everything queued before it", "[batch]") {
  PendingBatch batch(30, 1);
  REQUIRE(batch.add(std::nullopt, shared(entries(31, 32, 1))) == 0);
  batch.reset(100);
  CHECK(batch.is_reset());
  CHECK(batch.tail().empty());
  CHECK(batch.last_index() == 100);
  CHECK(batch.first_writable() == 101);
  CHECK(batch.add(std::nullopt, shared(entries(100, 101, 2))) == -EINVAL);  // into the snapshot
  CHECK(batch.add(std::nullopt, shared(entries(102, 102, 2))) == -EINVAL);  // a gap
  CHECK(batch.add(std::nullopt, shared(entries(101, 103, 2))) == 0);
  BatchPlan plan = plan_batch(batch, {1, 10, 20}, 100, 1 << 20);
  CHECK(plan.reset);
  CHECK(plan.delete_segments == std::vector<std::uint64_t>{20, 10, 1});
  REQUIRE(plan.chunks.size() == 1);
  CHECK(plan.chunks[0].new_segment);
  CHECK(plan.chunks[0].first_index == 101);
  CHECK(plan.entries == 3);
  SECTION("a reset alone only deletes") {
    PendingBatch alone(30, 1);
    alone.reset(100);
    CHECK_FALSE(alone.empty());
    BatchPlan only = plan_batch(alone, {1, 10}, 100, 1 << 20);
    CHECK(only.delete_segments == std::vector<std::uint64_t>{10, 1});
    CHECK(only.chunks.empty());
  }
}

TEST_CASE("writes may not start below the log's first writable index", "[batch]") {
  PendingBatch batch(50, 41);
  CHECK(batch.add(std::nullopt, shared(entries(40, 40, 1))) == -EINVAL);
  CHECK(batch.add(std::nullopt, shared(entries(41, 41, 1))) == 0);
}

TEST_CASE("compaction plans only closed segments wholly at or below the index", "[batch]") {
  // Segments 1..9, 10..19, 20..29, 30.. (active).
  const std::vector<std::uint64_t> firsts = {1, 10, 20, 30};
  auto compact_only = [&](std::uint64_t upto) {
    PendingBatch batch(35);
    batch.compact(upto);
    CHECK_FALSE(batch.empty());
    return plan_batch(batch, firsts, 100, 1 << 20).compact_segments;
  };
  CHECK(compact_only(8).empty());
  CHECK(compact_only(9) == std::vector<std::uint64_t>{1});
  CHECK(compact_only(28) == std::vector<std::uint64_t>{1, 10});
  CHECK(compact_only(29) == std::vector<std::uint64_t>{1, 10, 20});
  CHECK(compact_only(1000) == std::vector<std::uint64_t>{1, 10, 20});  // never the active one
  SECTION("in the layout the batch's own writes leave") {
    PendingBatch batch(35);
    REQUIRE(batch.add(std::nullopt, shared(entries(36, 40, 1))) == 0);
    batch.compact(1000);
    // The records roll into a new segment: 30.. is closed by then.
    BatchPlan plan = plan_batch(batch, firsts, 100, 100);
    REQUIRE(plan.chunks.back().new_segment);
    CHECK(plan.compact_segments.size() >= 4);
    CHECK(plan.compact_segments[3] == 30);
    CHECK(plan.compact_segments.back() < plan.chunks.back().first_index);
  }
  SECTION("after a truncation in the same batch") {
    PendingBatch batch(35);
    REQUIRE(batch.add(std::nullopt, shared(entries(15, 15, 2))) == 0);
    batch.compact(25);
    BatchPlan plan = plan_batch(batch, firsts, 100, 1 << 20);
    CHECK(plan.delete_segments == std::vector<std::uint64_t>{30, 20});
    // Left: 1..9, 10..14 (closed by the new segment 15), 15 (active).
    CHECK(plan.compact_segments == std::vector<std::uint64_t>{1, 10});
  }
  SECTION("the largest request wins") {
    PendingBatch batch(35);
    batch.compact(19);
    batch.compact(9);
    CHECK(*batch.compact_upto() == 19);
  }
}
