// A member's simulated disk: durable hard state and log, plus the writes
// still in flight.
//
// Happy path: the driver submits a write (hard state and/or entries) with a
// completion time; writes complete strictly in submission order (one log
// file, one fsync queue), and only a completed write is durable.
//
// Failure mode: a crash drops the writes still in flight. To model a write
// that reached the platter but whose fsync never returned, a prefix of them
// may survive (chosen by the caller); that is still safe, since the core was
// never told they were durable and nothing waiting on them was sent.
//
// Snapshots. An installed one (a follower's Ready::snapshot) is a log write
// like any other, in the same queue, applied atomically: snapshot stored,
// log reset to begin after it. A snapshot the member takes of its own state
// is written on a channel of its own (the daemon writes it from a forked
// child, beside the WAL): one at a time, it never delays log writes. When it
// completes it replaces an older stored snapshot and drops the log entries
// before its `keep_from`; those are committed and durable already, so no
// log write in flight can touch them. A crash loses it or, if the caller
// says so, lets it complete (the rename reached the disk).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "core/core.h"
#include "event_queue.h"
#include "raft.pb.h"
#include "state_machine.h"

namespace raftkv::sim {

class Disk {
 public:
  // A log write: hard state, an installed snapshot, entries (in that order).
  struct Write {
    std::optional<pb::HardState> hard_state;
    std::optional<Snapshot> install;
    std::vector<pb::Entry> entries;
    Time done_at = 0;
  };
  // A snapshot the member took: stored, then the log before keep_from goes.
  struct SnapshotWrite {
    Snapshot snapshot;
    Index keep_from = 0;
  };

  // Queues a write that takes `latency`, starting no earlier than `now` and
  // finishing no earlier than the previous write. Returns its completion time.
  Time submit(Write write, Time now, Time latency);

  // Makes the oldest pending write durable and returns it.
  Write complete_next();

  // Starts writing a snapshot taken by the member (at most one at a time).
  void submit_snapshot(SnapshotWrite write);
  bool snapshot_pending() const { return pending_snapshot_.has_value(); }
  // Makes the pending snapshot durable (unless a newer one is stored) and
  // returns it.
  SnapshotWrite complete_snapshot();

  // Loses every pending write except the first `survivors`; the pending
  // snapshot write survives if `snapshot_survives`.
  void crash(std::size_t survivors, bool snapshot_survives);

  std::size_t pending() const { return pending_.size(); }
  // When the last pending write completes (0 when idle).
  Time busy_until() const { return pending_.empty() ? 0 : last_done_; }
  std::uint64_t submitted() const { return submitted_; }
  std::uint64_t completed() const { return completed_; }

  // What a restarted member recovers.
  core::PersistentState recover() const;
  const std::vector<pb::Entry>& log() const { return log_; }
  // The newest durable snapshot.
  const std::optional<Snapshot>& snapshot() const { return snapshot_; }

 private:
  void make_durable(const Write& write);
  void append(const std::vector<pb::Entry>& entries);
  void compact(Index keep_from);

  pb::HardState hard_state_;
  std::optional<Snapshot> snapshot_;
  std::vector<pb::Entry> log_;
  Index log_base_ = 0;  // the index before log_.front()
  std::deque<Write> pending_;
  std::optional<SnapshotWrite> pending_snapshot_;
  std::uint64_t submitted_ = 0;
  std::uint64_t completed_ = 0;
  Time last_done_ = 0;
};

}  // namespace raftkv::sim
