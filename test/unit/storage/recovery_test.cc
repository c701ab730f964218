// Recovery on open: what is repaired (torn tails) and what is refused.
#include <catch2/catch.hpp>

#include "storage/hard_state_file.h"
#include "storage/record.h"
#include "storage/segment.h"
#include "test_util.h"

using namespace raftkv::storage;
using namespace raftkv::storage::test;

namespace {

// Writes entries first..last one write() each (so each write ends a batch).
void fill(const std::string& dir, std::uint64_t first, std::uint64_t last,
          WalOptions options = {}) {
  Loop loop;
  RecoveredState recovered;
  auto wal = open_ok(loop, dir, &recovered, options);
  for (std::uint64_t i = first; i <= last; ++i) {
    REQUIRE(write_now(loop, *wal, hard_state(1, 1), entries(i, i, 1)) == 0);
  }
  close_now(loop, wal);
}

std::vector<ScannedRecord> records_of(const std::string& path, std::uint64_t first) {
  SegmentScan scan = scan_segment(path, first);
  REQUIRE(scan.tail == TailState::kClean);
  return scan.records;
}

std::string flip(std::string bytes, std::size_t at) {
  bytes[at] = static_cast<char>(bytes[at] ^ 0x40);
  return bytes;
}

}  // namespace

TEST_CASE("a torn last record is cut off at every byte offset", "[recovery]") {
  TempDir tmp;
  fill(tmp.path(), 1, 5);
  const std::string segment = tmp.file(segment_file_name(1));
  const std::string original = read_file(segment);
  const std::uint64_t last_start = records_of(segment, 1).back().offset;
  for (std::uint64_t cut = last_start + 1; cut < original.size(); ++cut) {
    INFO("cut at " << cut);
    write_file(segment, original.substr(0, cut));
    RecoveredState back = reopen(tmp.path());
    REQUIRE(indexes(back.entries) == std::vector<std::uint64_t>{1, 2, 3, 4});
    REQUIRE(std::filesystem::file_size(segment) == last_start);
  }
  // After the repair the log takes new writes where it was cut.
  fill(tmp.path(), 5, 6);
  CHECK(reopen(tmp.path()).entries.size() == 6);
}

TEST_CASE("garbage or zeros after the last record are a torn tail", "[recovery]") {
  TempDir tmp;
  fill(tmp.path(), 1, 3);
  const std::string segment = tmp.file(segment_file_name(1));
  const std::string original = read_file(segment);
  SECTION("zeros") {
    write_file(segment, original + std::string(4096, '\0'));
  }
  SECTION("random bytes") {
    write_file(segment, original + "\x17\x99garbage\x01");
  }
  SECTION("a flipped byte in the very last record") {
    write_file(segment, flip(original, original.size() - 2));
  }
  RecoveredState back = reopen(tmp.path());
  CHECK(back.entries.size() >= 2);
  CHECK(std::filesystem::file_size(segment) <= original.size());
}

TEST_CASE("a flipped byte in a middle record is refused with file and offset", "[recovery]") {
  TempDir tmp;
  fill(tmp.path(), 1, 5);
  const std::string segment = tmp.file(segment_file_name(1));
  const std::string original = read_file(segment);
  const auto records = records_of(segment, 1);
  const std::uint64_t second = records[1].offset;
  SECTION("in the body") {
    write_file(segment, flip(original, second + kRecordHeaderBytes + 3));
  }
  SECTION("in the length") {
    write_file(segment, flip(original, second));
  }
  Loop loop;
  const std::string error = open_error(loop, tmp.path());
  CHECK(error ==
        segment + ": corrupt record at offset " + std::to_string(second) + " (" +
            (error.find("header") != std::string::npos ? "bad header checksum" : "bad checksum") +
            ", valid records follow)");
  CHECK(read_file(segment) != original);  // refused, not repaired
}

TEST_CASE("bad records in a segment that is not the last are refused", "[recovery]") {
  TempDir tmp;
  WalOptions options;
  options.segment_bytes = 120;
  fill(tmp.path(), 1, 12, options);
  const auto names = segment_names(tmp.path());
  REQUIRE(names.size() >= 3);
  const std::string first = tmp.file(names[0]);
  const std::string original = read_file(first);
  SECTION("torn end of a closed segment") {
    write_file(first, original.substr(0, original.size() - 3));
    Loop loop;
    CHECK(open_error(loop, tmp.path()).find(first + ": corrupt record at offset") == 0);
  }
  SECTION("flipped last byte of a closed segment") {
    write_file(first, flip(original, original.size() - 1));
    Loop loop;
    const std::string error = open_error(loop, tmp.path());
    CHECK(error.find(first + ": corrupt record at offset") == 0);
    CHECK(error.find("not the last") != std::string::npos);
  }
}

TEST_CASE("a missing segment in the middle is refused", "[recovery]") {
  TempDir tmp;
  WalOptions options;
  options.segment_bytes = 120;
  fill(tmp.path(), 1, 12, options);
  const auto names = segment_names(tmp.path());
  REQUIRE(names.size() >= 3);
  std::filesystem::remove(tmp.file(names[1]));
  Loop loop;
  const std::string error = open_error(loop, tmp.path());
  CHECK(error.find(tmp.file(names[2]) + ": corrupt record at offset 20 (index gap") == 0);
  CHECK(error.find("segment is missing") != std::string::npos);
}

TEST_CASE("a missing first segment is refused", "[recovery]") {
  TempDir tmp;
  WalOptions options;
  options.segment_bytes = 120;
  fill(tmp.path(), 1, 12, options);
  std::filesystem::remove(tmp.file(segment_file_name(1)));
  Loop loop;
  const auto names = segment_names(tmp.path());
  CHECK(open_error(loop, tmp.path()) == tmp.file(names[0]) +
                                            ": corrupt record at offset 0 (index gap: log starts "
                                            "at index " +
                                            std::to_string(std::stoull(names[0])) +
                                            " and there is no snapshot (a segment or snapshot is "
                                            "missing))");
}

TEST_CASE("segment headers are checked", "[recovery]") {
  TempDir tmp;
  WalOptions options;
  options.segment_bytes = 120;
  fill(tmp.path(), 1, 12, options);
  const std::string first = tmp.file(segment_file_name(1));
  std::string bytes = read_file(first);
  Loop loop;
  SECTION("unknown format version") {
    std::string header;
    put_u32(&header, kSegmentMagic);
    put_u32(&header, 2);
    put_u64(&header, 1);
    put_u32(&header, crc32_of(header.data(), header.size()));
    write_file(first, header + bytes.substr(kSegmentHeaderBytes));
    CHECK(open_error(loop, tmp.path()) ==
          first + ": corrupt record at offset 0 (unknown format version 2)");
  }
  SECTION("flipped header byte") {
    write_file(first, flip(bytes, 9));
    CHECK(open_error(loop, tmp.path()) ==
          first +
              ": corrupt record at offset 0 (bad segment header checksum, valid records follow)");
  }
  SECTION("file renamed") {
    std::filesystem::rename(first, tmp.file(segment_file_name(0)));
    CHECK(open_error(loop, tmp.path()).find("file name says 0") != std::string::npos);
  }
}

TEST_CASE("the hard state file is checked", "[recovery]") {
  TempDir tmp;
  fill(tmp.path(), 1, 2);
  const std::string path = tmp.file("hardstate");
  const std::string original = read_file(path);
  Loop loop;
  SECTION("flipped byte") {
    write_file(path, flip(original, 13));  // inside the payload
    CHECK(open_error(loop, tmp.path()) == path + ": corrupt record at offset 0 (bad checksum)");
  }
  SECTION("truncated") {
    write_file(path, original.substr(0, original.size() - 1));
    CHECK(open_error(loop, tmp.path())
              .find(path + ": corrupt record at offset " + std::to_string(original.size() - 1)) ==
          0);
  }
  SECTION("missing next to segments") {
    std::filesystem::remove(path);
    CHECK(open_error(loop, tmp.path()) ==
          path + ": corrupt record at offset 0 (missing, but the log has segments)");
  }
}

TEST_CASE("hard state round trip, including an interrupted replacement", "[recovery]") {
  TempDir tmp;
  {
    Loop loop;
    RecoveredState recovered;
    auto wal = open_ok(loop, tmp.path(), &recovered);
    REQUIRE(write_now(loop, *wal, hard_state(5, 3), {}) == 0);
    REQUIRE(write_now(loop, *wal, hard_state(6, 0), {}) == 0);
    CHECK(wal->metrics().hard_state_writes == 2);
    close_now(loop, wal);
  }
  write_file(tmp.file("hardstate.tmp"), "half a hard st");
  RecoveredState back = reopen(tmp.path());
  CHECK(back.hard_state.term() == 6);
  CHECK(back.hard_state.vote() == 0);
  CHECK(back.entries.empty());
  CHECK_FALSE(std::filesystem::exists(tmp.file("hardstate.tmp")));
  raftkv::pb::HardState decoded;
  std::string problem;
  std::uint64_t offset = 0;
  CHECK(decode_hard_state(read_file(tmp.file("hardstate")), &decoded, &problem, &offset));
  CHECK(decoded.term() == 6);
}

TEST_CASE("an interrupted segment roll leaves an empty last segment, removed", "[recovery]") {
  TempDir tmp;
  fill(tmp.path(), 1, 3);
  const std::string next = tmp.file(segment_file_name(4));
  SECTION("header only") {
    write_file(next, encode_segment_header(4));
  }
  SECTION("torn header") {
    write_file(next, encode_segment_header(4).substr(0, 7));
  }
  SECTION("empty file") {
    write_file(next, "");
  }
  SECTION("a truncation segment that got no record") {
    write_file(tmp.file(segment_file_name(2)) + ".x", "");  // unrelated file: ignored
    write_file(tmp.file(segment_file_name(2)), encode_segment_header(2));
  }
  RecoveredState back = reopen(tmp.path());
  CHECK(indexes(back.entries) == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(segment_names(tmp.path()) == std::vector<std::string>{segment_file_name(1)});
  fill(tmp.path(), 4, 5);
  CHECK(reopen(tmp.path()).entries.size() == 5);
}
