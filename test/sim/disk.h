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
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "core/core.h"
#include "event_queue.h"
#include "raft.pb.h"

namespace raftkv::sim {

class Disk {
 public:
  struct Write {
    std::optional<pb::HardState> hard_state;
    std::vector<pb::Entry> entries;
    Time done_at = 0;
  };

  // Queues a write that takes `latency`, starting no earlier than `now` and
  // finishing no earlier than the previous write. Returns its completion time.
  Time submit(Write write, Time now, Time latency);

  // Makes the oldest pending write durable and returns it.
  Write complete_next();

  // Loses every pending write except the first `survivors`.
  void crash(std::size_t survivors);

  std::size_t pending() const { return pending_.size(); }
  // When the last pending write completes (0 when idle).
  Time busy_until() const { return pending_.empty() ? 0 : last_done_; }
  std::uint64_t submitted() const { return submitted_; }
  std::uint64_t completed() const { return completed_; }

  // What a restarted member recovers.
  core::PersistentState recover() const;
  const std::vector<pb::Entry>& log() const { return log_; }

 private:
  void make_durable(const Write& write);

  pb::HardState hard_state_;
  std::vector<pb::Entry> log_;
  std::deque<Write> pending_;
  std::uint64_t submitted_ = 0;
  std::uint64_t completed_ = 0;
  Time last_done_ = 0;
};

}  // namespace raftkv::sim
