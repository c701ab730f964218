// SnapshotTaker on a real loop with real child processes and files: the
// snapshot holds the state as of start() even while the parent keeps
// changing it (copy-on-write), one runs at a time, failures are reported
// with the child's reason, and close() kills a running child.
#include <catch2/catch.hpp>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <uv.h>

#include "../loop_runner.h"
#include "../temp_dir.h"
#include "daemon/snapshot_taker.h"
#include "kv.pb.h"
#include "kv/state_machine.h"
#include "storage/snapshot_file.h"

using raftkv::daemon::SnapshotResult;
using raftkv::daemon::SnapshotTaker;
using raftkv::kv::StateMachine;

namespace {

using Loop = raftkv::test::LoopRunner;
using raftkv::test::TempDir;

raftkv::pb::SnapshotMeta meta_of(std::uint64_t index, std::uint64_t term) {
  raftkv::pb::SnapshotMeta meta;
  meta.set_index(index);
  meta.set_term(term);
  auto* member = meta.mutable_config()->add_members();
  member->set_id(1);
  member->set_raft_address("127.0.0.1:3031");
  return meta;
}

raftkv::pb::KvCommand put(const std::string& key, const std::string& value) {
  raftkv::pb::KvCommand command;
  command.set_op(raftkv::pb::KvCommand::PUT);
  command.set_key(key);
  command.set_value(value);
  return command;
}

void fill(StateMachine& state, int pairs, const std::string& prefix) {
  for (int i = 0; i < pairs; ++i) {
    state.apply(put("key-" + std::to_string(i), prefix + std::to_string(i)));
  }
}

void close_taker(Loop& loop, SnapshotTaker& taker) {
  bool closed = false;
  taker.close([&] { closed = true; });
  REQUIRE(loop.run_until([&] { return closed; }, 10000));
}

bool process_exists(pid_t pid) {
  return kill(pid, 0) == 0 || errno != ESRCH;
}

}  // namespace

TEST_CASE("a snapshot of a few hundred thousand pairs holds the state as of start()") {
  TempDir dir;
  Loop loop;
  SnapshotTaker taker(loop.get(), dir.path());
  StateMachine state;
  constexpr int kPairs = 300000;
  fill(state, kPairs, "before-");

  std::optional<SnapshotResult> result;
  std::string error;
  REQUIRE(taker.start(
              state, meta_of(kPairs, 7), [&](const SnapshotResult& r) { result = r; }, &error) ==
          SnapshotTaker::Start::kStarted);
  CHECK(taker.running());
  CHECK(taker.metrics().running);
  // The parent keeps changing its state while the child writes: the child
  // must see none of it.
  fill(state, kPairs, "after-");
  state.apply(put("added-later", "x"));

  REQUIRE(loop.run_until([&] { return result.has_value(); }, 60000));
  INFO(result->error);
  REQUIRE(result->ok);
  CHECK_FALSE(taker.running());
  CHECK(result->info.meta.index() == kPairs);
  CHECK(result->info.meta.term() == 7);
  CHECK(result->info.meta.config().members_size() == 1);
  CHECK(result->info.pair_count == kPairs);
  CHECK(result->info.path == dir.path() + "/" + raftkv::storage::snapshot_file_name(kPairs, 7));
  CHECK(result->info.file_bytes == std::filesystem::file_size(result->info.path));

  StateMachine loaded;
  raftkv::storage::SnapshotInfo info;
  REQUIRE(raftkv::storage::read_snapshot(
      result->info.path, &info,
      [&](std::string_view key, std::string_view value) { loaded.restore(key, value); }, &error));
  CHECK(loaded.key_count() == kPairs);
  CHECK(loaded.get("added-later") == nullptr);
  CHECK(*loaded.get("key-0") == "before-0");
  CHECK(*loaded.get("key-299999") == "before-299999");

  CHECK(taker.metrics().taken == 1);
  CHECK(taker.metrics().failed == 0);
  CHECK(taker.metrics().last_bytes == result->info.file_bytes);
  CHECK(taker.metrics().last_fork_us > 0);
  CHECK_FALSE(taker.metrics().running);
  close_taker(loop, taker);
}

TEST_CASE("one snapshot at a time: start() while one runs is refused") {
  TempDir dir;
  Loop loop;
  SnapshotTaker taker(loop.get(), dir.path());
  StateMachine state;
  fill(state, 100000, "v");
  int done_calls = 0;
  std::string error;
  REQUIRE(taker.start(
              state, meta_of(10, 1), [&](const SnapshotResult&) { ++done_calls; }, &error) ==
          SnapshotTaker::Start::kStarted);
  const pid_t first_child = taker.child_pid();
  CHECK(taker.start(
            state, meta_of(11, 1), [&](const SnapshotResult&) { ++done_calls; }, &error) ==
        SnapshotTaker::Start::kBusy);
  CHECK(taker.child_pid() == first_child);
  REQUIRE(loop.run_until([&] { return done_calls == 1; }, 60000));

  // The next one may start from inside done.
  std::optional<SnapshotResult> second;
  CHECK(taker.start(
            state, meta_of(12, 1), [&](const SnapshotResult& r) { second = r; }, &error) ==
        SnapshotTaker::Start::kStarted);
  REQUIRE(loop.run_until([&] { return second.has_value(); }, 60000));
  CHECK(second->ok);
  CHECK(done_calls == 1);
  CHECK(raftkv::storage::list_snapshots(dir.path()).size() == 2);
  close_taker(loop, taker);
}

TEST_CASE("a failing child reports its reason and leaves no file") {
  TempDir dir;
  Loop loop;
  const std::string missing = dir.path() + "/does-not-exist";
  SnapshotTaker taker(loop.get(), missing);
  StateMachine state;
  fill(state, 10, "v");
  std::optional<SnapshotResult> result;
  std::string error;
  REQUIRE(taker.start(
              state, meta_of(5, 2), [&](const SnapshotResult& r) { result = r; }, &error) ==
          SnapshotTaker::Start::kStarted);
  REQUIRE(loop.run_until([&] { return result.has_value(); }, 10000));
  CHECK_FALSE(result->ok);
  CHECK_FALSE(result->error.empty());
  CHECK(result->error.find('\n') == std::string::npos);
  CHECK(taker.metrics().failed == 1);
  CHECK(taker.metrics().taken == 0);
  CHECK(std::filesystem::is_empty(dir.path()));
  close_taker(loop, taker);
}

TEST_CASE("close() kills and reaps a running child and removes its tmp file") {
  TempDir dir;
  Loop loop;
  SnapshotTaker taker(loop.get(), dir.path());
  StateMachine state;
  fill(state, 300000, "a-longer-value-to-make-the-child-take-a-while-");
  bool done_called = false;
  std::string error;
  REQUIRE(taker.start(
              state, meta_of(1, 1), [&](const SnapshotResult&) { done_called = true; }, &error) ==
          SnapshotTaker::Start::kStarted);
  const pid_t child = taker.child_pid();
  REQUIRE(child > 0);
  close_taker(loop, taker);
  CHECK_FALSE(done_called);
  CHECK_FALSE(taker.running());
  // Reaped, not merely killed: no zombie is left with that pid.
  CHECK(waitpid(child, nullptr, WNOHANG) == -1);
  CHECK_FALSE(process_exists(child));
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/" + raftkv::storage::snapshot_file_name(1, 1) +
                                      ".tmp"));
  CHECK(taker.start(
            state, meta_of(2, 1), [](const SnapshotResult&) {}, &error) ==
        SnapshotTaker::Start::kBusy);
}
