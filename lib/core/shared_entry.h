// A log entry shared, immutable, by everything that needs it after it is
// appended: the log itself, the Ready that asks the driver to persist it
// (and the write-ahead log's pending batch behind that), and the Ready that
// asks the driver to apply it. Sharing instead of copying saves two copies
// of every entry (envelope and payload, each an allocation) on every member
// (issue 7). Nobody mutates an entry once shared.
#pragma once

#include <memory>
#include <vector>

#include "raft.pb.h"

namespace raftkv::core {

using SharedEntry = std::shared_ptr<const pb::Entry>;

// Copies, for drivers that keep entries of their own (the simulator, tests).
inline std::vector<pb::Entry> copy_entries(const std::vector<SharedEntry>& entries) {
  std::vector<pb::Entry> out;
  out.reserve(entries.size());
  for (const SharedEntry& entry : entries) out.push_back(*entry);
  return out;
}

}  // namespace raftkv::core
