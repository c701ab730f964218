// Which snapshot a data directory recovers from, and whether its log is
// kept: the snapshot rules of recovery (docs/disk-format.md, "Recovery").
// Pure decisions over what the scan found; recover_dir (recovery.h) carries
// them out and raftkv-dump reports them, so both always agree.
//
//   - Snapshots are tried newest first. One that fails verification is
//     skipped (reported) and the next older one is tried, but only if the
//     log lets that older one reach at least as far as the skipped one: the
//     log starts at or before older.index + 1, matches the older snapshot
//     (below), and ends at or after the skipped snapshot's index. Otherwise
//     recovery is refused ("... and no usable older snapshot"): falling
//     back further would forget committed state this member may have
//     acknowledged. "No snapshot" (index 0) is the last fallback, usable
//     when the log starts at index 1.
//   - The newest valid snapshot S needs the log to start at or before
//     S.index + 1 (or be empty); a later start is a gap and is refused.
//   - The log matches S when it is empty, holds entry S.index with term
//     S.term, or starts exactly at S.index + 1 (it was reset after an
//     install). Otherwise it is stale: an install of S was interrupted
//     after the snapshot file was renamed into place and before the log
//     reset finished. The whole log is then dropped, which finishes that
//     reset (why that is safe: docs/disk-format.md, "Recovery").
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "storage/snapshot_file.h"

namespace raftkv::storage {

// The log as recovery replayed it.
struct LogExtent {
  std::uint64_t first = 0;           // the first entry's index; 0 when the log is empty
  std::vector<std::uint64_t> terms;  // terms[i] is the term of entry first + i
  std::string first_segment;         // path of the first segment (for messages)

  bool empty() const { return terms.empty(); }
  std::uint64_t last() const { return empty() ? 0 : first + terms.size() - 1; }
  // Whether the log holds entry `index` with term `term`.
  bool holds(std::uint64_t index, std::uint64_t term) const {
    return !empty() && index >= first && index <= last() && terms[index - first] == term;
  }
};

struct SnapshotPlan {
  std::optional<SnapshotInfo> snapshot;  // none: the state is rebuilt from the log alone
  // The "FILE: corrupt snapshot at offset N (why)" lines of the newer
  // snapshots that failed verification and were skipped, newest first.
  std::vector<std::string> skipped;
  // The log is stale (see above): delete every segment.
  bool drop_log = false;
  std::string drop_reason;  // one line for the log and the dump, when drop_log
};

// Fully verifies one snapshot (and, in recovery, loads its pairs): returns
// false with the "FILE: corrupt snapshot at offset N (why)" line.
using SnapshotLoad =
    std::function<bool(const std::string& path, SnapshotInfo* info, std::string* error)>;

// Decides per the rules above. `snapshots`: paths, newest first
// (list_snapshots). Headers are read here; `load` is called only for a
// snapshot whose header is good and whose log coverage is acceptable, so
// that a big file is read once, and only when it will be used. Returns
// false with the one-line refusal in `error`.
bool plan_snapshot_recovery(const std::vector<std::string>& snapshots, const LogExtent& log,
                            const SnapshotLoad& load, SnapshotPlan* plan, std::string* error);

}  // namespace raftkv::storage
