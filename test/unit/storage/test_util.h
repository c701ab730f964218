// Shared helpers of the storage tests: a temporary directory, a real libuv
// loop run to completion (no sleeps), and small file surgery tools.
#pragma once

#include <uv.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../temp_dir.h"
#include "storage/wal.h"

namespace raftkv::storage::test {

// The shared temporary directory; making one also quiets INFO log lines.
class TempDir : public raftkv::test::TempDir {
 public:
  TempDir();
};

// A loop per test; the destructor checks that nothing is left on it.
class Loop {
 public:
  Loop() { uv_loop_init(&loop_); }
  ~Loop();
  uv_loop_t* get() { return &loop_; }
  void run() { uv_run(&loop_, UV_RUN_DEFAULT); }

 private:
  uv_loop_t loop_{};
};

pb::Entry entry(std::uint64_t index, std::uint64_t term, const std::string& data = "");
std::vector<pb::Entry> entries(std::uint64_t first, std::uint64_t last, std::uint64_t term);
pb::HardState hard_state(std::uint64_t term, std::uint64_t vote);

// Opens `dir`; fails the test (REQUIRE) if it cannot.
std::unique_ptr<Wal> open_ok(Loop& loop, const std::string& dir, RecoveredState* recovered,
                             WalOptions options = {});
// Opens `dir` expecting a refusal; returns the error line.
std::string open_error(Loop& loop, const std::string& dir);
// One write, with the loop run until its callback fired; returns the status.
int write_now(Loop& loop, Wal& wal, std::optional<pb::HardState> state, std::vector<pb::Entry> log);
// close() and run the loop until it finished.
void close_now(Loop& loop, std::unique_ptr<Wal>& wal);
// Reopens and returns what was recovered (closing the Wal again).
RecoveredState reopen(const std::string& dir, WalOptions options = {});

std::vector<std::uint64_t> indexes(const std::vector<pb::Entry>& log);
std::vector<std::uint64_t> indexes(const std::vector<SharedEntry>& log);
// The entries as the core hands them to the Wal's batch (shared).
std::vector<SharedEntry> shared(std::vector<pb::Entry> entries);
std::vector<std::string> segment_names(const std::string& dir);
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);

}  // namespace raftkv::storage::test
