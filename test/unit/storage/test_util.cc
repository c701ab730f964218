#include "test_util.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "storage/segment.h"
#include "util/log.h"

namespace raftkv::storage::test {

TempDir::TempDir() {
  // Recovery reports repairs with RKV_WARN; INFO lines would only be noise.
  util::set_log_level(util::LogLevel::kWarn);
}

Loop::~Loop() {
  uv_run(&loop_, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop_) == 0);
}

pb::Entry entry(std::uint64_t index, std::uint64_t term, const std::string& data) {
  pb::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(data.empty() ? "value-" + std::to_string(index) + "-" + std::to_string(term) : data);
  return e;
}

std::vector<pb::Entry> entries(std::uint64_t first, std::uint64_t last, std::uint64_t term) {
  std::vector<pb::Entry> out;
  for (std::uint64_t i = first; i <= last; ++i) out.push_back(entry(i, term));
  return out;
}

pb::HardState hard_state(std::uint64_t term, std::uint64_t vote) {
  pb::HardState state;
  state.set_term(term);
  state.set_vote(vote);
  return state;
}

std::unique_ptr<Wal> open_ok(Loop& loop, const std::string& dir, RecoveredState* recovered,
                             WalOptions options) {
  std::string error;
  auto wal = Wal::open(loop.get(), dir, options, recovered, &error);
  INFO(error);
  REQUIRE(wal != nullptr);
  return wal;
}

std::string open_error(Loop& loop, const std::string& dir) {
  std::string error;
  RecoveredState recovered;
  auto wal = Wal::open(loop.get(), dir, {}, &recovered, &error);
  REQUIRE(wal == nullptr);
  return error;
}

int write_now(Loop& loop, Wal& wal, std::optional<pb::HardState> state,
              std::vector<pb::Entry> log) {
  int status = 1;
  wal.write(std::move(state), std::move(log), [&](int s) { status = s; });
  loop.run();
  REQUIRE(status != 1);
  return status;
}

void close_now(Loop& loop, std::unique_ptr<Wal>& wal) {
  bool closed = false;
  wal->close([&] { closed = true; });
  loop.run();
  REQUIRE(closed);
  wal.reset();
}

RecoveredState reopen(const std::string& dir, WalOptions options) {
  Loop loop;
  RecoveredState recovered;
  auto wal = open_ok(loop, dir, &recovered, options);
  close_now(loop, wal);
  return recovered;
}

std::vector<std::uint64_t> indexes(const std::vector<SharedEntry>& log) {
  std::vector<std::uint64_t> out;
  for (const SharedEntry& e : log) out.push_back(e->index());
  return out;
}

std::vector<SharedEntry> shared(std::vector<pb::Entry> entries) {
  std::vector<SharedEntry> out;
  for (pb::Entry& e : entries) out.push_back(std::make_shared<const pb::Entry>(std::move(e)));
  return out;
}

std::vector<std::uint64_t> indexes(const std::vector<pb::Entry>& log) {
  std::vector<std::uint64_t> out;
  for (const auto& e : log) out.push_back(e.index());
  return out;
}

std::vector<std::string> segment_names(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& item : std::filesystem::directory_iterator(dir)) {
    std::uint64_t first = 0;
    const std::string name = item.path().filename().string();
    if (parse_segment_file_name(name, &first)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace raftkv::storage::test
