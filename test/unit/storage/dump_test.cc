// raftkv-dump on directories written by the Wal: intact, truncated, torn,
// corrupt; its command line; and that it never writes to the directory.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <sstream>

#include "dump.h"
#include "kv.pb.h"
#include "options.h"
#include "storage/record.h"
#include "storage/segment.h"
#include "storage/snapshot_file.h"
#include "test_util.h"

using namespace raftkv;
using namespace raftkv::storage::test;

namespace {

pb::Entry command(std::uint64_t index, pb::KvCommand::Op op, const std::string& key,
                  const std::string& value = "", const std::string& prev = "") {
  pb::KvCommand cmd;
  cmd.set_op(op);
  cmd.set_key(key);
  cmd.set_value(value);
  cmd.set_prev(prev);
  cmd.set_origin(1);
  cmd.set_request_id(index);
  pb::Entry e = entry(index, 2, cmd.SerializeAsString());
  e.set_type(pb::ENTRY_NORMAL);
  return e;
}

// A directory holding one entry of every kind, then a truncation.
void write_sample(const std::string& dir) {
  Loop loop;
  storage::RecoveredState recovered;
  auto wal = open_ok(loop, dir, &recovered);
  pb::Entry noop = entry(1, 2, "");
  noop.set_type(pb::ENTRY_NOOP);
  noop.clear_data();
  std::vector<pb::Entry> log = {noop,
                                command(2, pb::KvCommand::PUT, "k", "v"),
                                command(3, pb::KvCommand::DELETE, "gone"),
                                command(4, pb::KvCommand::CAS, "c", "new", "old"),
                                command(5, pb::KvCommand::CREATE, "fresh", "1"),
                                command(6, pb::KvCommand::PUT, std::string("b\0\n\\", 4), "\xff")};
  REQUIRE(write_now(loop, *wal, hard_state(2, 1), log) == 0);
  REQUIRE(write_now(loop, *wal, hard_state(3, 0), {command(5, pb::KvCommand::PUT, "x", "y")}) == 0);
  close_now(loop, wal);
}

struct Result {
  int status;
  std::string out;
  std::string err;
};

Result run(const std::vector<std::string>& args) {
  dump::Options options;
  REQUIRE(dump::parse_options(args, &options).empty());
  std::ostringstream out, err;
  const int status = dump::run_dump(options, out, err);
  return {status, out.str(), err.str()};
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

// Every file's name and bytes, to prove that the dump changed nothing.
std::string snapshot_of(const std::string& dir) {
  std::string all;
  std::vector<std::string> names;
  for (const auto& item : std::filesystem::directory_iterator(dir)) {
    names.push_back(item.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) all += name + ":" + read_file(dir + "/" + name) + "|";
  return all;
}

}  // namespace

TEST_CASE("dump prints an intact directory", "[dump]") {
  TempDir tmp;
  write_sample(tmp.path());
  const std::string before = snapshot_of(tmp.path());
  Result r = run({tmp.path()});
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  CHECK(has_line(r.out, "hard state: term=3 vote=0"));
  CHECK(has_line(r.out, "snapshot: no snapshot"));
  CHECK(
      r.out.find("segment 00000000000000000001.wal: first index 1, format version 1, 7 records") !=
      std::string::npos);
  CHECK(has_line(r.out, "entry 1 term=2 noop"));
  CHECK(has_line(r.out, "entry 2 term=2 normal put k=v"));
  CHECK(has_line(r.out, "entry 3 term=2 normal delete gone"));
  CHECK(has_line(r.out, "entry 4 term=2 normal cas c prev=old value=new"));
  CHECK(has_line(r.out, "entry 5 term=2 normal create fresh=1"));
  CHECK(has_line(r.out, "entry 6 term=2 normal put b\\x00\\x0a\\\\=\\xff"));
  CHECK(r.out.find("truncate: entries from 5 on are replaced (00000000000000000001.wal offset ") !=
        std::string::npos);
  CHECK(has_line(r.out, "entry 5 term=2 normal put x=y"));
  CHECK(has_line(r.out, "log: entries 1..5"));
  CHECK(has_line(r.out, "recovery: from the log alone"));
  CHECK(has_line(r.out, "status: intact"));
  CHECK(snapshot_of(tmp.path()) == before);
}

TEST_CASE("dump --from/--to and --json", "[dump]") {
  TempDir tmp;
  write_sample(tmp.path());
  Result ranged = run({tmp.path(), "--from", "2", "--to=3"});
  CHECK(ranged.status == 0);
  CHECK(has_line(ranged.out, "entry 2 term=2 normal put k=v"));
  CHECK(has_line(ranged.out, "entry 3 term=2 normal delete gone"));
  CHECK(ranged.out.find("entry 1 ") == std::string::npos);
  CHECK(ranged.out.find("entry 4 ") == std::string::npos);

  Result json = run({tmp.path(), "--json"});
  CHECK(json.status == 0);
  std::istringstream lines(json.out);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    ++count;
    CHECK(line.front() == '{');
    CHECK(line.back() == '}');
  }
  CHECK(count == 12);  // hard state, snapshot, segment, 7 entries, truncate, summary
  CHECK(has_line(json.out, "{\"type\":\"hard_state\",\"present\":true,\"term\":3,\"vote\":0}"));
  CHECK(has_line(json.out, "{\"type\":\"snapshot\",\"present\":false}"));
  CHECK(json.out.find("{\"type\":\"entry\",\"index\":2,\"term\":2,\"entry_type\":\"normal\","
                      "\"command\":{\"op\":\"put\",\"key\":\"k\",\"value\":\"v\"") !=
        std::string::npos);
  CHECK(json.out.find("\"key\":\"b\\u0000\\u000a\\\\\",\"value\":\"\\u00ff\"") !=
        std::string::npos);
  CHECK(has_line(json.out,
                 "{\"type\":\"summary\",\"status\":\"intact\",\"first_index\":1,"
                 "\"last_index\":5,\"snapshot_index\":0}"));
}

TEST_CASE("dump reports a torn tail without repairing it", "[dump]") {
  TempDir tmp;
  write_sample(tmp.path());
  const std::string segment = tmp.file(storage::segment_file_name(1));
  const std::string bytes = read_file(segment);
  write_file(segment, bytes.substr(0, bytes.size() - 3));
  const std::string before = snapshot_of(tmp.path());
  Result r = run({tmp.path()});
  CHECK(r.status == 1);
  CHECK(r.err.find("raftkv-dump: " + segment + ": torn record at offset ") == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(has_line(r.out, "status: torn"));
  CHECK(has_line(r.out, "entry 4 term=2 normal cas c prev=old value=new"));
  CHECK(snapshot_of(tmp.path()) == before);
}

TEST_CASE("dump reports corruption with file and offset", "[dump]") {
  TempDir tmp;
  write_sample(tmp.path());
  const std::string segment = tmp.file(storage::segment_file_name(1));
  std::string bytes = read_file(segment);
  storage::SegmentScan scan = storage::scan_segment(segment, 1);
  const std::uint64_t third = scan.records[2].offset;
  SECTION("a flipped byte in a middle record") {
    bytes[third + 14] = static_cast<char>(bytes[third + 14] ^ 0x10);
    write_file(segment, bytes);
    Result r = run({tmp.path(), "--json"});
    CHECK(r.status == 1);
    CHECK(r.err == "raftkv-dump: " + segment + ": corrupt record at offset " +
                       std::to_string(third) + " (bad checksum, valid records follow)\n");
    CHECK(r.out.find("\"status\":\"corrupt\"") != std::string::npos);
  }
  SECTION("a corrupt hard state") {
    write_file(tmp.file("hardstate"), "nonsense, not a hard state");
    Result r = run({tmp.path()});
    CHECK(r.status == 1);
    CHECK(r.err.find(tmp.file("hardstate") + ": corrupt record at offset") != std::string::npos);
    CHECK(has_line(r.out, "hard state: unreadable"));
    CHECK(has_line(r.out, "status: corrupt"));
  }
}

namespace {

pb::Entry conf_change(std::uint64_t index, pb::ConfChange::Type type, std::uint64_t id) {
  pb::ConfChange change;
  change.set_type(type);
  change.mutable_member()->set_id(id);
  if (type == pb::ConfChange::ADD_LEARNER) {
    change.mutable_member()->set_raft_address("127.0.0.1:3033");
    change.mutable_member()->set_http_address("127.0.0.1:2023");
  }
  change.set_origin(1);
  change.set_request_id(77);
  pb::Entry e = entry(index, 2, change.SerializeAsString());
  e.set_type(pb::ENTRY_CONF_CHANGE);
  return e;
}

pb::SnapshotMeta snapshot_meta(std::uint64_t index, std::uint64_t term) {
  pb::SnapshotMeta meta;
  meta.set_index(index);
  meta.set_term(term);
  for (std::uint64_t id : {1, 3}) {
    pb::Member* member = meta.mutable_config()->add_members();
    member->set_id(id);
    member->set_raft_address("127.0.0.1:303" + std::to_string(id));
    member->set_http_address("127.0.0.1:202" + std::to_string(id));
    member->set_learner(id == 3);
  }
  return meta;
}

std::string make_snapshot(const std::string& dir, std::uint64_t index, std::uint64_t term,
                          int pairs) {
  std::string error;
  auto writer = storage::SnapshotWriter::create(dir, snapshot_meta(index, term), &error);
  REQUIRE(writer != nullptr);
  for (int i = 0; i < pairs; ++i) REQUIRE(writer->add("k" + std::to_string(i), "v", &error));
  REQUIRE(writer->finish(&error));
  return writer->path();
}

// Entries 1..30 (term 2) in small segments, snapshots at 10 and 20, the log
// compacted through 15: it then starts somewhere in 12..16, past what
// snapshot 10 could be completed from.
std::uint64_t write_compacted(const std::string& dir) {
  Loop loop;
  storage::RecoveredState recovered;
  storage::WalOptions options;
  options.segment_bytes = 120;
  auto wal = open_ok(loop, dir, &recovered, options);
  for (std::uint64_t i = 1; i <= 30; ++i) {
    REQUIRE(write_now(loop, *wal, hard_state(2, 1), entries(i, i, 2)) == 0);
  }
  make_snapshot(dir, 10, 2, 3);
  make_snapshot(dir, 20, 2, 5);
  int status = 1;
  wal->compact(15, [&](int s) { status = s; });
  loop.run();
  REQUIRE(status == 0);
  close_now(loop, wal);
  const std::uint64_t first = std::stoull(segment_names(dir).front());
  REQUIRE(first > 11);
  REQUIRE(first <= 16);
  return first;
}

void flip_last_byte(const std::string& path) {
  std::string bytes = read_file(path);
  bytes.back() = static_cast<char>(bytes.back() ^ 0x01);
  write_file(path, bytes);
}

}  // namespace

TEST_CASE("dump decodes configuration changes", "[dump]") {
  TempDir tmp;
  {
    Loop loop;
    storage::RecoveredState recovered;
    auto wal = open_ok(loop, tmp.path(), &recovered);
    REQUIRE(write_now(loop, *wal, hard_state(2, 1),
                      {conf_change(1, pb::ConfChange::ADD_LEARNER, 3),
                       conf_change(2, pb::ConfChange::PROMOTE, 3),
                       conf_change(3, pb::ConfChange::REMOVE, 2)}) == 0);
    close_now(loop, wal);
  }
  Result r = run({tmp.path()});
  CHECK(r.status == 0);
  CHECK(has_line(r.out,
                 "entry 1 term=2 conf-change conf add-learner 3 raft=127.0.0.1:3033 "
                 "http=127.0.0.1:2023"));
  CHECK(has_line(r.out, "entry 2 term=2 conf-change conf promote 3"));
  CHECK(has_line(r.out, "entry 3 term=2 conf-change conf remove 2"));
  Result json = run({tmp.path(), "--json"});
  CHECK(json.out.find("\"command\":{\"conf\":\"add-learner\",\"id\":3,\"raft\":\"127.0.0.1:3033\","
                      "\"http\":\"127.0.0.1:2023\",\"origin\":1,\"request_id\":77}") !=
        std::string::npos);
  CHECK(
      json.out.find("\"command\":{\"conf\":\"promote\",\"id\":3,\"origin\":1,\"request_id\":77}") !=
      std::string::npos);
}

TEST_CASE("dump prints every snapshot and the log from its first index", "[dump]") {
  TempDir tmp;
  const std::uint64_t first = write_compacted(tmp.path());
  const std::string before = snapshot_of(tmp.path());
  Result r = run({tmp.path()});
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  const std::string members =
      "members [1 raft=127.0.0.1:3031 http=127.0.0.1:2021; 3 learner raft=127.0.0.1:3033 "
      "http=127.0.0.1:2023]";
  const auto size20 = std::filesystem::file_size(tmp.file(storage::snapshot_file_name(20, 2)));
  CHECK(has_line(r.out, "snapshot " + storage::snapshot_file_name(20, 2) + ": index 20 term 2, " +
                            members + ", 5 pairs, " + std::to_string(size20) + " bytes, ok"));
  CHECK(r.out.find("snapshot " + storage::snapshot_file_name(10, 2) + ": index 10 term 2, " +
                   members + ", 3 pairs, ") != std::string::npos);
  CHECK(r.out.find("snapshot: no snapshot") == std::string::npos);
  CHECK(r.out.find("entry " + std::to_string(first) + " term=2 ") != std::string::npos);
  CHECK(r.out.find("entry " + std::to_string(first - 1) + " term=2 ") == std::string::npos);
  CHECK(has_line(r.out, "log: entries " + std::to_string(first) + "..30"));
  CHECK(has_line(r.out, "recovery: from " + storage::snapshot_file_name(20, 2) +
                            " (index 20 term 2), then the log"));
  CHECK(has_line(r.out, "status: intact"));

  Result json = run({tmp.path(), "--json"});
  CHECK(json.status == 0);
  CHECK(has_line(json.out, "{\"type\":\"snapshot\",\"present\":true,\"file\":\"" +
                               storage::snapshot_file_name(20, 2) +
                               "\",\"index\":20,\"term\":2,\"members\":[{\"id\":1,\"raft\":"
                               "\"127.0.0.1:3031\",\"http\":\"127.0.0.1:2021\",\"learner\":false},"
                               "{\"id\":3,\"raft\":\"127.0.0.1:3033\",\"http\":\"127.0.0.1:2023\","
                               "\"learner\":true}],\"pairs\":5,\"bytes\":" +
                               std::to_string(size20) + ",\"status\":\"ok\"}"));
  CHECK(has_line(json.out, "{\"type\":\"summary\",\"status\":\"intact\",\"first_index\":" +
                               std::to_string(first) +
                               ",\"last_index\":30,\"snapshot_index\":20}"));
  CHECK(snapshot_of(tmp.path()) == before);
}

TEST_CASE("dump reports a corrupt snapshot, newest or not", "[dump]") {
  TempDir tmp;
  write_compacted(tmp.path());
  const std::string older = tmp.file(storage::snapshot_file_name(10, 2));
  const std::string newest = tmp.file(storage::snapshot_file_name(20, 2));
  SECTION("an older one: still exit 1, recovery would use the newest") {
    const std::uint64_t body = storage::get_u32(read_file(older).data() + 12);
    flip_last_byte(older);
    Result r = run({tmp.path()});
    CHECK(r.status == 1);
    CHECK(r.err.rfind("raftkv-dump: " + older + ": corrupt snapshot at offset " +
                          std::to_string(body) + " (body checksum ",
                      0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.out.find("snapshot " + storage::snapshot_file_name(10, 2) + ": index 10 term 2, ") !=
          std::string::npos);
    CHECK(r.out.find(", corrupt snapshot at offset " + std::to_string(body) + " (body checksum") !=
          std::string::npos);
    CHECK(r.out.find("recovery: from " + storage::snapshot_file_name(20, 2)) != std::string::npos);
    CHECK(has_line(r.out, "status: corrupt"));
  }
  SECTION("the newest, and the older one is below the log: refused") {
    flip_last_byte(newest);
    Result r = run({tmp.path(), "--json"});
    CHECK(r.status == 1);
    CHECK(r.err.rfind("raftkv-dump: " + newest + ": corrupt snapshot at offset ", 0) == 0);
    CHECK(r.err.find(") and no usable older snapshot\n") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.out.find("\"status\":\"corrupt\",\"problem\":\"" + newest) != std::string::npos);
    CHECK(r.out.find("{\"type\":\"summary\",\"status\":\"corrupt\"") != std::string::npos);
  }
  SECTION("an unreadable header") {
    std::string bytes = read_file(older);
    bytes[0] = 'x';
    write_file(older, bytes);
    Result r = run({tmp.path()});
    CHECK(r.status == 1);
    CHECK(r.err == "raftkv-dump: " + older + ": corrupt snapshot at offset 0 (bad magic)\n");
    CHECK(has_line(r.out, "snapshot " + storage::snapshot_file_name(10, 2) +
                              ": corrupt snapshot at offset 0 (bad magic)"));
  }
}

TEST_CASE("dump reports a log left stale by an interrupted install", "[dump]") {
  TempDir tmp;
  write_sample(tmp.path());
  make_snapshot(tmp.path(), 50, 4, 1);
  write_file(tmp.file(storage::snapshot_file_name(60, 4) + ".tmp"), "partial");
  const std::string before = snapshot_of(tmp.path());
  Result r = run({tmp.path()});
  CHECK(r.status == 1);
  CHECK(r.err.find("stale, left by a snapshot install interrupted before its log reset") !=
        std::string::npos);
  CHECK(has_line(r.out, "snapshot tmp " + storage::snapshot_file_name(60, 4) +
                            ".tmp: 7 bytes, an unfinished write (removed at the next start)"));
  CHECK(has_line(r.out, "status: stale"));
  CHECK(snapshot_of(tmp.path()) == before);
}

TEST_CASE("dump on a missing directory fails without creating it", "[dump]") {
  TempDir tmp;
  Result r = run({tmp.file("nope")});
  CHECK(r.status == 1);
  CHECK(r.err.find("nope: cannot read data directory") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(tmp.file("nope")));
}

TEST_CASE("dump command line", "[dump]") {
  auto parse = [](std::vector<std::string> args) {
    dump::Options options;
    return dump::parse_options(args, &options);
  };
  CHECK(parse({"--bogus"}) == "unknown flag --bogus");
  CHECK(parse({"dir", "--from"}) == "missing value for --from");
  CHECK(parse({"dir", "--to", "x1"}) == "invalid value for --to: 'x1'");
  CHECK(parse({"dir", "--from=-1"}) == "invalid value for --from: '-1'");
  CHECK(parse({"dir", "--from", "5", "--to", "4"}) == "invalid range: --from is above --to");
  CHECK(parse({"dir", "--json=yes"}) == "unknown flag --json=yes");
  CHECK(parse({}) == "missing DATA_DIR");
  CHECK(parse({"a", "b"}).find("unexpected argument 'b'") == 0);
  dump::Options options;
  CHECK(dump::parse_options({"--from=7", "dir", "--json", "--to", "9"}, &options).empty());
  CHECK(options.data_dir == "dir");
  CHECK(options.json);
  CHECK(options.from == 7);
  CHECK(options.to == 9);
  dump::Options help;
  CHECK(dump::parse_options({"--help"}, &help).empty());
  CHECK(help.help);
}

#ifdef RAFTKV_DUMP_PATH
namespace {
int run_binary(const std::string& args, const std::string& err_file) {
  const int rc = std::system(
      (std::string(RAFTKV_DUMP_PATH) + " " + args + " >/dev/null 2>" + err_file).c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
}  // namespace

TEST_CASE("the raftkv-dump binary's exit codes", "[dump]") {
  TempDir tmp;
  const std::string err = tmp.file("stderr");
  CHECK(run_binary("--help", err) == 0);
  CHECK(run_binary("--version", err) == 0);
  CHECK(run_binary("--frobnicate", err) == 2);
  CHECK(read_file(err) == "raftkv-dump: unknown flag --frobnicate (see --help)\n");
  CHECK(run_binary(tmp.file("data") + " --to", err) == 2);
  write_sample(tmp.file("data"));
  CHECK(run_binary(tmp.file("data"), err) == 0);
  CHECK(run_binary(tmp.file("missing"), err) == 1);
}
#endif
