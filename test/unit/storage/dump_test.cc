// raftkv-dump on directories written by the Wal: intact, truncated, torn,
// corrupt; its command line; and that it never writes to the directory.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <sstream>

#include "dump.h"
#include "kv.pb.h"
#include "options.h"
#include "storage/segment.h"
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
                 "\"last_index\":5}"));
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
