// What the core asks its driver to do, collected since the last ready().
//
// The driver's contract (the same in the daemon and in the simulator):
//   1. Start persisting `hard_state` (if set), `snapshot` (if set) and
//      `entries` (if any), in that order, after everything earlier Readys
//      asked to persist. `entries` may begin at or below the last index
//      already written: the log is then truncated to
//      entries.front().index - 1 before appending (a follower's conflict).
//      `snapshot` (a follower's install; the driver received and verified
//      the file before stepping the InstallSnapshot): atomically replace
//      the state machine with the snapshot's and reset the log to begin
//      after meta.index, before applying this Ready's `committed` (they
//      follow meta.index) and before sending its messages_after_persist.
//      Once it is durable, call on_persisted(meta.index, meta.term) (until
//      then the core keeps acknowledgements of the snapshot's index behind
//      the disk). The driver's applied index is then meta.index.
//   2. Send `messages` at once (in any order, may be lost). An
//      AppendEntries carries its entries as shared references beside the
//      message (out_message.h); they go on the wire inside it.
//   3. Send `messages_after_persist` only after everything asked to be
//      persisted by this Ready and all earlier ones is durable (fdatasync
//      returned). They carry promises about durable state (votes, append
//      acknowledgements). An append acknowledgement whose match_index is
//      already durable (the answer to a heartbeat, which ReadIndex rounds
//      ride on) promises nothing new and is in `messages`. They are plain
//      messages: an AppendEntries (entries beside it) is never among them.
//   4. When a write completes, call Core::on_persisted(index, term) with the
//      last entry now durable (and nothing if only hard state was written).
//   5. Apply `committed` entries in order, then call Core::on_applied().
//   6. A ReadState may be answered once the state machine has applied up to
//      its `index`.
//   7. `dropped_proposals` were never appended anywhere and never will be:
//      their clients may be told so at once.
//   8. `config` (if set) is the configuration now in force (it changed by an
//      append, a truncation or a restore): update peer connections and what
//      /members shows. Committed ENTRY_CONF_CHANGE entries also appear in
//      `committed`: the state machine ignores them; the member named by the
//      change's origin answers the admin request with its request_id.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/out_message.h"
#include "core/shared_entry.h"
#include "core/types.h"
#include "raft.pb.h"

namespace raftkv::core {

// A linearizable read that has been confirmed: answer it from the state
// machine once it has applied up to `index`.
struct ReadState {
  std::uint64_t request_id = 0;
  Index index = 0;
};

// Leadership or role changes, for status pages and for failing requests
// that can no longer succeed.
struct SoftState {
  Role role = Role::kFollower;
  NodeId leader = kNoNode;
  Term term = 0;
  bool operator==(const SoftState&) const = default;
};

// Why a proposal was dropped.
enum class DropReason {
  kLeaderChanged,  // not yet forwarded when this member's leader changed
  kNotLeader,      // the member it was forwarded to no longer led that term
  kTransferring,   // the leader was transferring leadership
  kBackPressure,   // the leader had too many uncommitted bytes
};

// A proposal that was certainly not appended to any log and never will be:
// the driver may tell its client so (HTTP 503) at once. Proposals whose fate
// is unknown (forwarded, then the leader went silent) are never listed.
struct DroppedProposal {
  std::string data;  // as given to Core::propose()
  DropReason reason = DropReason::kLeaderChanged;
};

struct Ready {
  std::optional<pb::HardState> hard_state;
  // Follower: install this snapshot (see step 1 above).
  std::optional<pb::SnapshotMeta> snapshot;
  std::vector<SharedEntry> entries;  // shared with the log: see shared_entry.h
  std::vector<OutMessage> messages;
  std::vector<pb::Message> messages_after_persist;
  std::vector<SharedEntry> committed;
  std::vector<ReadState> reads;
  // Read requests that can no longer be answered (leadership lost, no
  // leader, the leader rejected them): the driver answers them with an error.
  std::vector<std::uint64_t> failed_reads;
  std::vector<DroppedProposal> dropped_proposals;
  std::optional<SoftState> soft_state;      // set when it changed
  std::optional<pb::ClusterConfig> config;  // set when it changed (step 8)

  bool empty() const {
    return !hard_state && !snapshot && entries.empty() && messages.empty() &&
           messages_after_persist.empty() && committed.empty() && reads.empty() &&
           failed_reads.empty() && dropped_proposals.empty() && !soft_state && !config;
  }
};

}  // namespace raftkv::core
