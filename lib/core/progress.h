// What a leader knows about one follower's log (Raft §5.3 nextIndex and
// matchIndex), plus the flow control around it, after etcd's tracker design:
//
//   probe      the leader does not know where the logs agree. At most one
//              AppendEntries is outstanding; a response (or a heartbeat
//              response) allows the next. Entered at election and after a
//              rejection, where fast back-tracking moves `next` down.
//   replicate  the logs agree up to `match`: entries are streamed
//              optimistically (`next` advances when sent), bounded by the
//              inflight window in messages and in bytes (field notes 1.5:
//              a count limit alone lets big entries overflow a follower).
//   snapshot   the follower needs entries the leader has compacted: one
//              InstallSnapshot of `pending_snapshot` is out, and nothing is
//              appended until the follower acknowledges an index at or past
//              it (-> replicate) or the driver reports the transfer failed
//              (-> probe). Heartbeats continue. No timer ends this mode: a
//              transfer takes as long as it takes (field notes 1.2: install
//              loops when a transfer outlives an RPC timeout). Once the
//              driver reports the transfer done (`snapshot_delivered`),
//              heartbeats are anchored at the snapshot's index and term: a
//              follower that lost the install (it crashed before it was
//              durable) rejects one, and that rejection (the only one not
//              ignored in this mode) sends it back to probing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include "core/types.h"

namespace raftkv::core {

// The pipelining window: AppendEntries sent but not yet acknowledged, each
// remembered by its last index and its entry bytes.
class Inflights {
 public:
  void add(Index last, std::size_t bytes);
  // Acknowledges every message whose last index is <= `index`.
  void free_to(Index index);
  bool full(std::size_t max_count, std::size_t max_bytes) const;
  void clear();
  std::size_t count() const { return items_.size(); }
  std::size_t bytes() const { return bytes_; }

 private:
  std::deque<std::pair<Index, std::size_t>> items_;
  std::size_t bytes_ = 0;
};

struct Progress {
  enum class Mode { kProbe, kReplicate, kSnapshot };

  Index match = 0;
  Index next = 1;
  Mode mode = Mode::kProbe;
  bool probe_sent = false;  // probe mode: one message is outstanding
  Inflights inflights;
  // Heard from since the last check-quorum round (thesis §6.2).
  bool recently_active = false;
  // The highest ReadIndex round the follower echoed in this term (§6.4).
  std::uint64_t read_round_acked = 0;
  // The highest commit index an AppendEntries sent to the follower let it
  // adopt (leader_commit capped at the message's last index). The leader
  // sends a heartbeat as soon as it could tell the follower more, so that
  // the follower's clients do not wait for the next heartbeat tick. A lost
  // message makes this an overestimate; the periodic heartbeat repairs it.
  Index commit_sent = 0;
  // Leader ticks in replicate mode without progress while messages are in
  // flight: a lost tail message is only noticed this way.
  int stall_ticks = 0;
  // prev_log_index of the latest AppendEntries (append or heartbeat) sent
  // since the last change of mode. A rejection of exactly this index
  // answers the follower's log as it is now, not an older message.
  std::optional<Index> sent_prev;
  // Snapshot mode: the index and term of the snapshot being sent, and
  // whether the driver reported it delivered (the follower's driver stepped
  // the InstallSnapshot).
  Index pending_snapshot = 0;
  Term pending_snapshot_term = 0;
  bool snapshot_delivered = false;

  // Back to probing from `next_index` (after a rejection or a stall).
  void become_probe(Index next_index);
  // Streaming from match + 1 (after the first success in probe mode, or
  // once the follower acknowledged the snapshot).
  void become_replicate();
  // Waiting for the follower to install the snapshot of (index, term).
  void become_snapshot(Index index, Term term);
  // Snapshot mode, and the follower now holds everything up to the
  // snapshot's index.
  bool snapshot_done() const { return mode == Mode::kSnapshot && match >= pending_snapshot; }
  // Whether no AppendEntries may be sent now.
  bool paused(std::size_t max_count, std::size_t max_bytes) const;
  // Records that entries up to `last` (`bytes` of them) were sent.
  void sent(Index last, std::size_t bytes);
  // Raises match (and next) to `index`; false if it was not an increase.
  bool advance(Index index);

  // Whether a rejection of prev_log_index `rejected` answers the latest
  // message sent (see sent_prev).
  bool answers_latest(Index rejected) const { return sent_prev == rejected; }
  // Whether a rejection can be ignored as the answer to a message sent
  // before the leader last changed its mind about the follower: in
  // replicate mode one at or below match, in probe mode one of another
  // index than the probe's; never one that answers the latest message.
  // In snapshot mode every rejection but that of a heartbeat anchored at the
  // delivered snapshot: the follower does not have it after all.
  bool stale_rejection(Index rejected) const;
  // The follower lost entries it had acknowledged (a torn tail cut off by
  // recovery, a damaged disk): nothing it holds counts as replicated until
  // a probe succeeds again. Raft assumes stable storage; this keeps the
  // leader from counting the member for entries it no longer has (field
  // notes 1.3, 1.8).
  void forget_match() { match = 0; }
};

}  // namespace raftkv::core
