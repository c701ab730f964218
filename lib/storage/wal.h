// The write-ahead log of one member: segments of entries plus the
// `hardstate` file, written asynchronously with group commit on the libuv
// loop, and recovered synchronously at open. Format: docs/disk-format.md.
//
// Usage (the daemon's driver, see core/ready.h):
//
//   RecoveredState recovered;
//   std::string error;
//   auto wal = Wal::open(loop, dir, {}, &recovered, &error);
//   if (!wal) { fprintf(stderr, "%s\n", error.c_str()); exit(1); }
//   ...
//   wal->write(ready.hard_state, std::move(ready.entries), [&](int status) {
//     if (status != 0) { /* the disk failed: step down, stop acknowledging */ }
//     else { /* send messages_after_persist, core.on_persisted(...) */ }
//   });
//   wal->kick();  // with WalOptions::batch_until_kick: once per loop iteration
//   ...
//   wal->close([&] { /* files closed; destroy the Wal */ });
//
// Snapshots: the Wal does not write snapshot files (snapshot_file.h does);
// it recovers the newest valid one at open (RecoveredState::snapshot), and
// after one is durable the daemon calls compact() (a snapshot it took) or
// reset() (a snapshot it installed from the leader).
//
// Threading: every method must be called on the loop's thread; callbacks
// run on the loop. Lifetime: call close() and wait for its callback before
// destroying the Wal; destroying it earlier is safe (no callback runs into
// freed memory) but leaks its file descriptors if work was in flight.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "raft.pb.h"
#include "storage/batch.h"
#include "storage/fs_request.h"
#include "storage/metrics.h"
#include "storage/recovery.h"

namespace raftkv::storage {

struct WalOptions {
  // A segment is closed and a new one started once the next record would
  // take it past this size (a segment always holds at least one record).
  std::uint64_t segment_bytes = 64ull << 20;
  // Out of space (ENOSPC, EDQUOT) on a write, create or rename: the step is
  // retried after this delay, doubled after each failed retry up to the
  // maximum, until it goes through (see "Failure modes" in wal.cc).
  std::uint64_t full_retry_first_ms = 100;
  std::uint64_t full_retry_max_ms = 2000;
  // When a batch completes with writes queued behind it: false starts them
  // at once; true leaves them for the next write() or kick(), so that what
  // the caller submits in the rest of its loop iteration joins the same
  // batch (one fdatasync, not two). The caller must then kick() every loop
  // iteration (raftkvd does, in its prepare handle, after handing over the
  // Ready): a batch completes in the poll phase, and the proposals and
  // appends that phase brings reach the log only in the next prepare.
  bool batch_until_kick = false;
};

// Test-only fault injection (positive errno values; 0 = off). Each fires
// once, on the next segment write or segment fdatasync.
struct WalFaults {
  // Writes the first half of the next segment write for real, then reports
  // this error: a realistic partial write that recovery must treat as torn.
  int fail_next_write = 0;
  // How many segment writes in a row fail_next_write fails (retries of a
  // write that ran out of space count).
  int fail_write_times = 1;
  // Reports this error instead of running the next segment fdatasync.
  int fail_next_sync = 0;
};

// The disk-full state (out of space on a write; see wal.cc).
struct DiskFullMetrics {
  std::uint64_t episodes = 0;  // times the log entered the state
  std::uint64_t retries = 0;   // retries of a step that ran out of space
  std::uint64_t full_ms = 0;   // time spent in finished episodes
};

class Wal {
 public:
  // 0 on success, or a negative errno (UV_ENOSPC, UV_EIO, ...). Also
  // -EINVAL for a write whose entries are not consecutive or start after
  // last_index() + 1, and -ECANCELED for a write submitted after close().
  using Done = std::function<void(int status)>;

  // Opens `dir` (created if missing), takes an exclusive flock on it, and
  // recovers it synchronously (blocking I/O: call before running the loop).
  // Fills `recovered` (hard state; the newest valid snapshot, if any;
  // entries contiguous from the log's first index: see recovery.h). The
  // snapshot's pairs go to `sink` while it is verified, if given (one read
  // of the file); without a sink read them with read_snapshot(). On
  // unrecoverable corruption or an I/O error returns nullptr and sets
  // `error` to one line naming the file (and byte offset for corruption:
  // "FILE: corrupt record at offset N (why)", "FILE: corrupt snapshot at
  // offset N (why) and no usable older snapshot").
  static std::unique_ptr<Wal> open(uv_loop_t* loop, const std::string& dir, WalOptions options,
                                   RecoveredState* recovered, std::string* error,
                                   SnapshotSink* sink = nullptr);

  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Queues a durable write of `hard_state` (if set) and `entries`. Entries
  // may start at or below last_index(): the log is then truncated to
  // entries.front().index() - 1 first. `done` runs on the loop once this
  // write and every earlier one are durable (hard state first, then
  // entries), in submission order; never from inside write() itself.
  // After a failure every write fails with the failure's error.
  void write(std::optional<pb::HardState> hard_state, std::vector<SharedEntry> entries, Done done);
  // The same for entries nobody else holds (tests, tools).
  void write(std::optional<pb::HardState> hard_state, std::vector<pb::Entry> entries, Done done);

  // Log compaction after a snapshot at index >= `upto` is durable: deletes
  // every closed segment whose entries are all <= `upto` (never the active
  // segment, so never an entry above `upto`; entries <= `upto` that share
  // a segment with later ones stay), then fsyncs the directory. Queued
  // behind earlier writes like a write; `done` as for write(). The caller
  // keeps `upto` at or below its snapshot's index (minus whatever trailing
  // entries it wants to keep for lagging followers).
  void compact(std::uint64_t upto, Done done);

  // After a follower installed a snapshot ending at `snapshot_index` (the
  // snapshot file already durable): deletes every segment (newest first),
  // last_index() becomes `snapshot_index`, and the next write must start at
  // snapshot_index + 1 (its segment is named after it). Queued in order
  // with writes: entries queued before it are dropped with the log. If the
  // process dies half way, recovery finishes the job (the log no longer
  // matches the snapshot, see recovery.h).
  void reset(std::uint64_t snapshot_index, Done done);

  // Finishes queued and in-flight writes, closes the files (releasing the
  // lock), then runs `done` on the loop. Call once. A batch waiting for
  // disk space is not waited for: it fails with the out-of-space error.
  void close(std::function<void()> done);

  // With WalOptions::batch_until_kick: starts the writes queued since the
  // last batch completed, if there are any and no batch is in flight.
  void kick();

  const WalMetrics& metrics() const { return metrics_; }
  const DiskFullMetrics& disk_full_metrics() const { return full_metrics_; }
  // True while a step that ran out of space waits for its retry; writes are
  // then queued (and acknowledged once space returns), never failed.
  bool disk_full() const { return disk_full_; }
  // When (uv_now) the batch in flight started (or, after a disk-full
  // episode, resumed), or nothing when the log is idle: how long the disk
  // has kept this member's writes waiting.
  std::optional<std::uint64_t> in_flight_since_ms() const {
    if (!in_flight_) return std::nullopt;
    return batch_started_ms_;
  }
  // True once a write or sync failed other than for lack of space; the Wal
  // then refuses all writes (never acknowledge after a failed fsync: the
  // fsyncgate lesson).
  bool failed() const { return failed_; }
  // Why, e.g. "DIR/00000000000000000001.wal: write: no space left on device (ENOSPC)".
  const std::string& failure() const { return failure_; }
  // The log's last index including queued writes.
  std::uint64_t last_index() const { return pending_.last_index(); }
  const std::string& dir() const { return dir_; }

  WalFaults& faults_for_testing() { return faults_; }

 private:
  // One asynchronous step of a batch; calls `next` with >= 0 or -errno.
  using Step = std::function<void(fs::Callback next)>;
  using Queued = std::pair<Done, int>;  // callback and its own status

  Wal(uv_loop_t* loop, std::string dir, WalOptions options, int dir_fd, int active_fd,
      const LogLayout& layout);

  // Queues a write, compact or reset already folded into pending_.
  void enqueue(Done done, int status);
  bool refuse_if_stopped(Done& done);
  void start_flush();
  void add_hard_state_steps(const pb::HardState& state);
  void add_delete_steps();
  void add_compact_steps();
  void add_unlink(std::uint64_t first, const char* why, std::uint64_t* counter);
  void update_log_bytes();
  void add_chunk_steps(SegmentChunk& chunk);
  void add_segment_write_and_sync(std::string bytes, std::uint64_t offset);
  void write_then_sync(std::shared_ptr<const std::string> bytes, std::uint64_t offset,
                       fs::Callback next);
  void write_segment(std::shared_ptr<const std::string> bytes, std::uint64_t offset,
                     fs::Callback next);
  void after_segment_write(std::int64_t result, std::size_t size, std::int64_t at,
                           const fs::Callback& next);
  void count_segment_bytes(std::size_t size);
  void add_sync(const int* fd, const std::string& what, bool directory);
  void sync(const int* fd, const std::string& what, bool directory, fs::Callback next);
  void add_close(int* fd, const std::string& what);
  void run_next_step();
  void run_current_step();
  void wait_for_space(int status);
  void leave_disk_full();
  int take_write_fault();
  void finish_batch();
  void fail(int status);
  void reject(Done done, int status);
  void start_close();
  void close_next_fd();
  std::string segment_path(std::uint64_t first_index) const;

  uv_loop_t* loop_;
  std::string dir_;
  WalOptions options_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // tokens for fs requests
  WalFaults faults_;
  WalMetrics metrics_;

  int dir_fd_;     // flock'ed; fsync'd after creates, renames and unlinks
  int active_fd_;  // the last segment, open for writing (-1 if none)
  int tmp_fd_ = -1;
  std::vector<std::uint64_t> segment_firsts_;
  std::map<std::uint64_t, std::uint64_t> segment_bytes_;  // by first index
  std::uint64_t active_bytes_;

  PendingBatch pending_;  // writes queued while a batch is in flight
  std::vector<Queued> pending_dones_;
  bool in_flight_ = false;
  std::vector<Queued> flight_dones_;
  BatchPlan plan_;
  std::deque<Step> steps_;
  Step current_step_;
  std::string step_what_;        // "FILE: operation" of the running step
  bool step_retryable_ = false;  // the running step may be retried when out of space
  std::uint64_t batch_started_ms_ = 0;

  bool disk_full_ = false;
  int full_status_ = 0;  // the out-of-space error being waited out
  std::uint64_t full_since_ms_ = 0;
  std::uint64_t retry_delay_ms_ = 0;
  fs::Timer retry_timer_;
  DiskFullMetrics full_metrics_;

  bool failed_ = false;
  int failure_status_ = 0;
  std::string failure_;

  std::vector<Queued> rejected_;  // failed at once, reported in a later iteration
  bool rejecting_ = false;

  bool closing_ = false;
  std::function<void()> close_done_;
  std::vector<int> closing_fds_;
};

}  // namespace raftkv::storage
