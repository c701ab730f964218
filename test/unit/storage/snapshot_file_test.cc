// Snapshot files: round trips of every size, truncation at every byte,
// every single-bit flip, the name/size checks, listing and pruning.
#include <catch2/catch.hpp>

#include <filesystem>
#include <utility>
#include <vector>

#include "storage/record.h"
#include "storage/snapshot_file.h"
#include "test_util.h"

using namespace raftkv;
using namespace raftkv::storage;
using namespace raftkv::storage::test;

namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

pb::SnapshotMeta meta(std::uint64_t index, std::uint64_t term) {
  pb::SnapshotMeta out;
  out.set_index(index);
  out.set_term(term);
  for (std::uint64_t id = 1; id <= 3; ++id) {
    pb::Member* member = out.mutable_config()->add_members();
    member->set_id(id);
    member->set_raft_address("127.0.0.1:303" + std::to_string(id));
    member->set_http_address("127.0.0.1:202" + std::to_string(id));
    member->set_learner(id == 3);
  }
  return out;
}

std::string write_snapshot(const std::string& dir, const pb::SnapshotMeta& m, const Pairs& pairs) {
  std::string error;
  auto writer = SnapshotWriter::create(dir, m, &error);
  REQUIRE(writer != nullptr);
  for (const auto& [key, value] : pairs) REQUIRE(writer->add(key, value, &error));
  REQUIRE(writer->finish(&error));
  return writer->path();
}

// Reads the whole file back; REQUIREs success.
Pairs read_back(const std::string& path, SnapshotInfo* info) {
  Pairs pairs;
  std::string error;
  const bool ok = read_snapshot(
      path, info,
      [&](std::string_view key, std::string_view value) {
        pairs.emplace_back(std::string(key), std::string(value));
      },
      &error);
  INFO(error);
  REQUIRE(ok);
  return pairs;
}

std::string read_error(const std::string& path) {
  SnapshotInfo info;
  std::string error;
  CHECK_FALSE(read_snapshot(path, &info, {}, &error));
  return error;
}

std::string corrupt(const std::string& path, std::uint64_t offset) {
  return path + ": corrupt snapshot at offset " + std::to_string(offset) + " (";
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

Pairs sample_pairs(std::size_t count) {
  Pairs pairs;
  for (std::size_t i = 0; i < count; ++i) {
    pairs.emplace_back("key-" + std::to_string(i), std::string(i % 7, static_cast<char>('a' + i)));
  }
  return pairs;
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& item : std::filesystem::directory_iterator(dir)) {
    names.push_back(item.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("snapshot file names", "[snapshot]") {
  CHECK(snapshot_file_name(100, 3) == "snapshot-00000000000000000100-00000000000000000003.snap");
  std::uint64_t index = 0;
  std::uint64_t term = 0;
  CHECK(parse_snapshot_file_name(snapshot_file_name(18446744073709551615ull, 7), &index, &term));
  CHECK(index == 18446744073709551615ull);
  CHECK(term == 7);
  CHECK_FALSE(parse_snapshot_file_name(snapshot_file_name(1, 1) + ".tmp", &index, &term));
  CHECK(parse_snapshot_tmp_name(snapshot_file_name(5, 2) + ".tmp", &index, &term));
  CHECK(index == 5);
  CHECK_FALSE(parse_snapshot_file_name("snapshot-00000000000000000100_00000000000000000003.snap",
                                       &index, &term));
  CHECK_FALSE(parse_snapshot_file_name("snapshot-99999999999999999999-00000000000000000003.snap",
                                       &index, &term));
  CHECK_FALSE(parse_snapshot_file_name("00000000000000000001.wal", &index, &term));
}

TEST_CASE("snapshot round trips", "[snapshot]") {
  TempDir tmp;
  Pairs pairs;
  SECTION("no pair") {}
  SECTION("one pair") {
    pairs = {{"k", "v"}};
  }
  SECTION("an empty value and binary bytes") {
    pairs = {{std::string("\0\xff", 2), ""}, {"x", std::string("\n\0", 2)}};
  }
  SECTION("100k pairs") {
    pairs = sample_pairs(100000);
  }
  SECTION("values larger than the buffer") {
    pairs = {{"a", std::string(3 << 20, 'a')}, {"b", "small"}, {"c", std::string(5 << 20, 'c')}};
  }
  const std::string path = write_snapshot(tmp.path(), meta(1234, 5), pairs);
  CHECK(path == tmp.file(snapshot_file_name(1234, 5)));
  CHECK(names_in(tmp.path()) == std::vector<std::string>{snapshot_file_name(1234, 5)});
  SnapshotInfo info;
  CHECK(read_back(path, &info) == pairs);
  CHECK(info.path == path);
  CHECK(info.meta.SerializeAsString() == meta(1234, 5).SerializeAsString());
  CHECK(info.pair_count == pairs.size());
  CHECK(info.file_bytes == std::filesystem::file_size(path));
  SnapshotInfo header_only;
  std::string error;
  CHECK(read_snapshot_header(path, &header_only, &error));
  CHECK(header_only.pair_count == pairs.size());
  CHECK(header_only.meta.config().members(2).learner());
}

TEST_CASE("snapshot header layout", "[snapshot]") {
  TempDir tmp;
  const std::string path = write_snapshot(tmp.path(), meta(9, 2), {{"ab", "cde"}});
  const std::string bytes = read_file(path);
  const std::string meta_bytes = meta(9, 2).SerializeAsString();
  const std::size_t header = 40 + meta_bytes.size() + 4;
  REQUIRE(bytes.size() == header + 8 + 5);
  CHECK(bytes.substr(0, 8) == std::string("RKVSNAP\0", 8));
  CHECK(get_u32(bytes.data() + 8) == 1);
  CHECK(get_u32(bytes.data() + 12) == header);
  CHECK(get_u64(bytes.data() + 16) == 13);
  CHECK(get_u32(bytes.data() + 24) == crc32_of(bytes.data() + header, 13));
  CHECK(get_u64(bytes.data() + 28) == 1);
  CHECK(get_u32(bytes.data() + 36) == meta_bytes.size());
  CHECK(bytes.substr(40, meta_bytes.size()) == meta_bytes);
  CHECK(get_u32(bytes.data() + header - 4) == crc32_of(bytes.data(), header - 4));
  CHECK(get_u32(bytes.data() + header) == 2);
  CHECK(get_u32(bytes.data() + header + 4) == 3);
  CHECK(bytes.substr(header + 8) == "abcde");
}

TEST_CASE("a snapshot cut at any byte is refused at that offset", "[snapshot]") {
  TempDir tmp;
  const std::string path = write_snapshot(tmp.path(), meta(50, 1), sample_pairs(20));
  const std::string bytes = read_file(path);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    write_file(path, bytes.substr(0, cut));
    const std::string error = read_error(path);
    INFO("cut at " << cut << ": " << error);
    CHECK(starts_with(error, corrupt(path, cut)));
    SnapshotInfo info;
    std::string header_error;
    CHECK_FALSE(read_snapshot_header(path, &info, &header_error));
    CHECK(header_error == error);
  }
}

TEST_CASE("every single-bit flip is detected with a predictable offset", "[snapshot]") {
  TempDir tmp;
  const std::string path = write_snapshot(tmp.path(), meta(50, 1), sample_pairs(6));
  const std::string bytes = read_file(path);
  const std::size_t header = get_u32(bytes.data() + 12);
  const std::size_t header_crc = header - 4;
  // Where the reader must point for a flip in byte `at`.
  auto expected_offset = [&](std::size_t at) -> std::size_t {
    if (at < 8) return 0;                    // magic
    if (at < 12) return 8;                   // version
    if (at < 16 || (at >= 36 && at < 40)) {  // the two lengths must agree
      return 12;
    }
    if (at < header) return header_crc;  // any other header byte
    return header;                       // body: its checksum
  };
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = bytes;
      flipped[at] = static_cast<char>(flipped[at] ^ (1 << bit));
      write_file(path, flipped);
      const std::string error = read_error(path);
      INFO("byte " << at << " bit " << bit << ": " << error);
      CHECK(starts_with(error, corrupt(path, expected_offset(at))));
    }
  }
  write_file(path, bytes);
  SnapshotInfo info;
  CHECK(read_back(path, &info).size() == 6);
}

TEST_CASE("snapshot size and name checks", "[snapshot]") {
  TempDir tmp;
  const std::string path = write_snapshot(tmp.path(), meta(50, 1), sample_pairs(3));
  const std::string bytes = read_file(path);
  SECTION("trailing bytes") {
    write_file(path, bytes + "xyz");
    CHECK(read_error(path) == corrupt(path, bytes.size()) + "3 unexpected bytes after the body)");
  }
  SECTION("a name that disagrees with the meta") {
    const std::string renamed = tmp.file(snapshot_file_name(51, 1));
    std::filesystem::rename(path, renamed);
    CHECK(read_error(renamed) ==
          corrupt(renamed, 40) + "meta says index 50 term 1, the file name index 51 term 1)");
  }
  SECTION("a temporary name is not checked against the meta") {
    const std::string received = tmp.file("incoming.part");
    std::filesystem::rename(path, received);
    SnapshotInfo info;
    CHECK(read_back(received, &info).size() == 3);
    CHECK(info.meta.index() == 50);
  }
  SECTION("a missing file") {
    CHECK(
        starts_with(read_error(tmp.file("nope.snap")), tmp.file("nope.snap") + ": cannot open: "));
  }
}

TEST_CASE("the snapshot writer cleans up after itself", "[snapshot]") {
  TempDir tmp;
  std::string error;
  SECTION("abandoned before finish") {
    {
      auto writer = SnapshotWriter::create(tmp.path(), meta(7, 1), &error);
      REQUIRE(writer != nullptr);
      REQUIRE(writer->add("k", "v", &error));
      CHECK(names_in(tmp.path()) == std::vector<std::string>{snapshot_file_name(7, 1) + ".tmp"});
    }
    CHECK(names_in(tmp.path()).empty());
  }
  SECTION("a directory that does not exist") {
    CHECK(SnapshotWriter::create(tmp.file("missing"), meta(7, 1), &error) == nullptr);
    CHECK(error == tmp.file("missing/" + snapshot_file_name(7, 1)) +
                       ".tmp: create: No such file or directory");
  }
  SECTION("index 0") {
    CHECK(SnapshotWriter::create(tmp.path(), meta(0, 0), &error) == nullptr);
    CHECK(error.find("index must be at least 1") != std::string::npos);
  }
  SECTION("a full disk") {
    if (!std::filesystem::exists("/dev/full")) return;
    // The writer's tmp file is a symlink to /dev/full: every write fails.
    std::filesystem::create_symlink("/dev/full", tmp.file(snapshot_file_name(7, 1) + ".tmp"));
    auto writer = SnapshotWriter::create(tmp.path(), meta(7, 1), &error);
    CHECK(writer == nullptr);
    CHECK(error == tmp.file(snapshot_file_name(7, 1)) + ".tmp: write: No space left on device");
    CHECK(names_in(tmp.path()).empty());
  }
  SECTION("finished twice") {
    auto writer = SnapshotWriter::create(tmp.path(), meta(7, 1), &error);
    REQUIRE(writer->finish(&error));
    CHECK_FALSE(writer->finish(&error));
    CHECK_FALSE(writer->add("k", "v", &error));
    writer.reset();
    CHECK(names_in(tmp.path()) == std::vector<std::string>{snapshot_file_name(7, 1)});
  }
}

TEST_CASE("listing and pruning snapshots", "[snapshot]") {
  TempDir tmp;
  for (auto [index, term] : {std::pair{10, 1}, {30, 2}, {20, 1}, {30, 1}}) {
    write_snapshot(tmp.path(), meta(index, term), {{"k", std::to_string(index)}});
  }
  write_file(tmp.file(snapshot_file_name(5, 1) + ".tmp"), "old leftover");
  write_file(tmp.file(snapshot_file_name(40, 2) + ".tmp"), "being written");
  write_file(tmp.file("00000000000000000001.wal"), "not a snapshot");
  CHECK(list_snapshots(tmp.path()) ==
        std::vector<std::string>{
            tmp.file(snapshot_file_name(30, 2)), tmp.file(snapshot_file_name(30, 1)),
            tmp.file(snapshot_file_name(20, 1)), tmp.file(snapshot_file_name(10, 1))});
  CHECK(prune_snapshots(tmp.path(), 0) == -EINVAL);
  CHECK(prune_snapshots(tmp.path(), 2) == 0);
  CHECK(names_in(tmp.path()) ==
        std::vector<std::string>{"00000000000000000001.wal", snapshot_file_name(30, 1),
                                 snapshot_file_name(30, 2), snapshot_file_name(40, 2) + ".tmp"});
  CHECK(prune_snapshots(tmp.path(), 1) == 0);
  CHECK(list_snapshots(tmp.path()) ==
        std::vector<std::string>{tmp.file(snapshot_file_name(30, 2))});
  CHECK(list_snapshots(tmp.file("missing")).empty());
}
