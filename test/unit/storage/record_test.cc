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
  CHECK(batch.add(std::nullopt, entries(11, 12, 1)) == 0);
  CHECK(batch.add(std::nullopt, entries(12, 14, 2)) == 0);  // replaces its own 12
  CHECK(batch.keep_through() == 10);
  CHECK(indexes(batch.tail()) == std::vector<std::uint64_t>{11, 12, 13, 14});
  CHECK(batch.tail()[1].term() == 2);
  CHECK(batch.add(hard_state(3, 1), entries(8, 8, 3)) == 0);  // reaches into durable log
  CHECK(batch.keep_through() == 7);
  CHECK(indexes(batch.tail()) == std::vector<std::uint64_t>{8});
  CHECK(batch.hard_state()->term() == 3);
  CHECK(batch.add(std::nullopt, entries(10, 10, 3)) == -EINVAL);  // gap
  CHECK(batch.add(std::nullopt, {entry(9, 3), entry(11, 3)}) == -EINVAL);
  CHECK(batch.add(std::nullopt, entries(0, 0, 3)) == -EINVAL);
  CHECK(batch.last_index() == 8);
}

TEST_CASE("plans roll segments and delete the ones a truncation obsoletes", "[batch]") {
  SECTION("append to the active segment, rolling when full") {
    PendingBatch batch(10);
    REQUIRE(batch.add(std::nullopt, entries(11, 20, 1)) == 0);
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
    REQUIRE(batch.add(std::nullopt, entries(9, 9, 2)) == 0);
    BatchPlan plan = plan_batch(batch, {1, 10, 20}, 100, 1 << 20);
    CHECK(plan.delete_segments == std::vector<std::uint64_t>{10, 20});
    REQUIRE(plan.chunks.size() == 1);
    CHECK(plan.chunks[0].new_segment);
    CHECK(plan.chunks[0].first_index == 9);
  }
  SECTION("truncation inside the active segment is in-band") {
    PendingBatch batch(30);
    REQUIRE(batch.add(std::nullopt, entries(20, 20, 2)) == 0);
    BatchPlan plan = plan_batch(batch, {1, 10, 20}, 100, 1 << 20);
    CHECK(plan.delete_segments.empty());
    REQUIRE(plan.chunks.size() == 1);
    CHECK_FALSE(plan.chunks[0].new_segment);
  }
}
