// Whether this member's disk keeps its writes waiting, and what to do about
// it (docs/operations.md, "Disk full, failing disk, stuck disk").
//
// Two conditions, both read from the Wal on every tick:
//   full   the Wal ran out of space and waits for it (Wal::disk_full());
//   stuck  a log batch has been in flight for longer than the election
//          timeout (an fdatasync or write that does not return).
// Either way the member refuses new client writes at once (503: not
// proposed, so certainly never applied) instead of letting them time out,
// and a leader hands leadership to the most up-to-date voter: its own
// slow disk must not hold the cluster hostage, while the others have a
// majority of working disks. The core stays pure: the hand-off is the
// ordinary leadership transfer. Once the log's writes complete again the
// member carries on as usual (as a follower, if it handed off).
//
// Pure bookkeeping with the time passed in, like leader_transfers.h; the
// driver (raft_node_disk.cc) does the transfer.
#pragma once

#include <cstdint>
#include <optional>

namespace raftkv::daemon {

enum class DiskState { kOk, kFull, kStuck };

const char* disk_state_name(DiskState state);  // "ok", "full", "stuck"

struct DiskWatchdogMetrics {
  std::uint64_t stuck_episodes = 0;  // times a batch stayed in flight past the limit
  std::uint64_t handoffs = 0;        // leadership transfers started because of the disk
  std::uint64_t refused_writes = 0;  // client writes answered 503 because of the disk
};

class DiskWatchdog {
 public:
  // Stuck once a batch is in flight for `stuck_after_ms`; a leader retries
  // a hand-off every `handoff_retry_ms` while the condition lasts (a
  // transfer can fail: the target may be slow or gone).
  DiskWatchdog(std::uint64_t stuck_after_ms, std::uint64_t handoff_retry_ms)
      : stuck_after_ms_(stuck_after_ms), handoff_retry_ms_(handoff_retry_ms) {}

  // Every tick: the Wal's state now. Returns true when this member, if it
  // leads, should hand off leadership now.
  bool check(std::uint64_t now_ms, bool disk_full, std::optional<std::uint64_t> in_flight_since_ms);
  // A hand-off was started (or could not be) at `now_ms`: wait before the
  // next attempt.
  void note_handoff(std::uint64_t now_ms, bool started);

  DiskState state() const { return state_; }
  // No hand-off attempted yet in this episode (log the first one loudly).
  bool first_attempt() const { return attempts_ == 0; }
  // The 503 reason for a new client write, or nullptr when writes are taken.
  const char* refusal() const;
  void count_refusal() { ++metrics_.refused_writes; }
  const DiskWatchdogMetrics& metrics() const { return metrics_; }

 private:
  void enter(DiskState next, std::uint64_t now_ms, std::optional<std::uint64_t> since_ms);

  std::uint64_t stuck_after_ms_;
  std::uint64_t handoff_retry_ms_;
  DiskState state_ = DiskState::kOk;
  std::uint64_t since_ms_ = 0;         // when the current condition's batch started
  std::uint64_t next_handoff_ms_ = 0;  // no hand-off attempt before this
  std::uint64_t attempts_ = 0;         // hand-off attempts in this episode
  DiskWatchdogMetrics metrics_;
};

}  // namespace raftkv::daemon
