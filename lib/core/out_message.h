// A message the core asks its driver to send. An AppendEntries carries its
// entries as shared references (see shared_entry.h) in `entries`, not
// inside `message`: the leader would otherwise copy every entry (envelope
// and payload, each an allocation) once per follower (issue 7). The
// transport writes them straight into the frame
// (transport/frame.h, append_frame with entries); the wire format is that of
// the materialised message.
#pragma once

#include <utility>
#include <vector>

#include "core/shared_entry.h"
#include "raft.pb.h"

namespace raftkv::core {

struct OutMessage {
  pb::Message message;
  // Non-empty only for an AppendEntries: they follow the entries in
  // message.append_entries() (which the core leaves empty).
  std::vector<SharedEntry> entries;
};

// The message as it goes over the wire, entries copied in: for drivers that
// deliver messages in memory (the simulator, tests).
inline pb::Message materialize(OutMessage&& out) {
  if (!out.entries.empty()) {
    auto* entries = out.message.mutable_append_entries()->mutable_entries();
    entries->Reserve(entries->size() + static_cast<int>(out.entries.size()));
    for (const SharedEntry& entry : out.entries) *entries->Add() = *entry;
  }
  return std::move(out.message);
}

}  // namespace raftkv::core
