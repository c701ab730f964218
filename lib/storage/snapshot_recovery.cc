#include "storage/snapshot_recovery.h"

#include <filesystem>

#include "storage/recovery.h"

namespace raftkv::storage {
namespace {

std::string base_name(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

// The index in a snapshot file's name (list_snapshots only returns names
// that parse), so that even a file with an unreadable header counts.
std::uint64_t index_in_name(const std::string& path) {
  std::uint64_t index = 0;
  std::uint64_t term = 0;
  parse_snapshot_file_name(base_name(path), &index, &term);
  return index;
}

// Whether the log goes on from the state of a snapshot at (index, term);
// (0, 0) stands for "no snapshot": the log must then start at index 1.
bool continues(std::uint64_t index, std::uint64_t term, const LogExtent& log) {
  return log.empty() || log.first == index + 1 || log.holds(index, term);
}

// Whether falling back to the snapshot at (index, term) still rebuilds
// everything up to `skipped_index` (the newest snapshot that failed).
bool fallback_usable(std::uint64_t index, std::uint64_t term, const LogExtent& log,
                     std::uint64_t skipped_index) {
  return !log.empty() && log.first <= index + 1 && continues(index, term, log) &&
         log.last() >= skipped_index;
}

std::string range(const LogExtent& log) {
  return std::to_string(log.first) + ".." + std::to_string(log.last());
}

std::string stale_reason(const SnapshotInfo& info, const LogExtent& log) {
  const std::uint64_t index = info.meta.index();
  return log.first_segment + ": the log (entries " + range(log) + ") neither holds entry " +
         std::to_string(index) + " of term " + std::to_string(info.meta.term()) + " of " +
         base_name(info.path) + " nor starts at " + std::to_string(index + 1) +
         ": stale, left by a snapshot install interrupted before its log reset; dropping it";
}

}  // namespace

bool plan_snapshot_recovery(const std::vector<std::string>& snapshots, const LogExtent& log,
                            const SnapshotLoad& load, SnapshotPlan* plan, std::string* error) {
  *plan = SnapshotPlan{};
  std::uint64_t skipped_index = 0;
  auto no_fallback = [&] {
    *error = plan->skipped.front() + " and no usable older snapshot";
    return false;
  };
  for (const std::string& path : snapshots) {
    SnapshotInfo info;
    std::string problem;
    const bool header_ok = read_snapshot_header(path, &info, &problem);
    if (header_ok && !plan->skipped.empty() &&
        !fallback_usable(info.meta.index(), info.meta.term(), log, skipped_index)) {
      return no_fallback();
    }
    if (header_ok && plan->skipped.empty() && !log.empty() && log.first > info.meta.index() + 1) {
      *error = corrupt_at(log.first_segment, 0,
                          "index gap: log starts at index " + std::to_string(log.first) +
                              ", the newest snapshot " + base_name(path) + " ends at index " +
                              std::to_string(info.meta.index()));
      return false;
    }
    if (!header_ok || !load(path, &info, &problem)) {
      plan->skipped.push_back(problem);
      if (skipped_index == 0) skipped_index = index_in_name(path);
      continue;
    }
    if (!continues(info.meta.index(), info.meta.term(), log)) {
      plan->drop_log = true;
      plan->drop_reason = stale_reason(info, log);
    }
    plan->snapshot = std::move(info);
    return true;
  }
  if (!plan->skipped.empty()) {
    // The last fallback: no snapshot at all, the whole state from the log.
    return fallback_usable(0, 0, log, skipped_index) || no_fallback();
  }
  if (!log.empty() && log.first > 1) {
    *error = corrupt_at(log.first_segment, 0,
                        "index gap: log starts at index " + std::to_string(log.first) +
                            " and there is no snapshot (a segment or snapshot is missing)");
    return false;
  }
  return true;
}

}  // namespace raftkv::storage
