// SnapshotTaker writes the key-value state as of the applied index to a
// snapshot file without stopping the loop and without copying the state:
// it fork()s, and the child writes the pairs it sees through copy-on-write
// pages (what Redis's BGSAVE does). The parent's only stall is fork() itself
// (copying page tables: on the order of 10 ms per GB of state, reported
// as fork_us).
//
// Happy path: start() forks; the child writes every pair with
// storage::SnapshotWriter (tmp file, fdatasync, rename, directory fsync)
// and _exit(0)s. A 10 ms uv_timer in the parent polls waitpid(WNOHANG) (no
// SIGCHLD handler: libuv owns SIGCHLD for uv_spawn); once the child is
// reaped, the parent reads the new file's header and calls done(result).
//
// Failure modes:
// - fork() fails (ENOMEM, EAGAIN): start() returns kForkFailed at once and
//   done is never called.
// - The child fails (disk full, bad directory): it writes one line to a pipe
//   and _exit(1)s; the writer has removed its tmp file; done reports the line.
// - The child dies of a signal (OOM killer): done reports the signal; the
//   leftover *.snap.tmp is removed here and by storage::prune_snapshots.
// - The parent dies: the child gets SIGKILL (PR_SET_PDEATHSIG), so no orphan
//   keeps writing or keeps the parent's sockets open.
//
// Memory: pages the parent modifies while the child runs are copied by the
// kernel, so the extra memory is bounded by what changes during one
// snapshot, never the whole state at once.
//
// What the child may touch: only the StateMachine (read-only), the meta and
// the SnapshotWriter. It never calls into libuv, closes every inherited fd
// (sockets, WAL, epoll) so the parent's connections close when the parent
// closes them, resets signal handlers (a SIGTERM sent to the whole group
// must kill the child, not write to the parent's libuv signal pipe), and
// leaves with _exit() (no atexit handlers, no stdio flushing of the parent's
// buffers). glibc's fork() resets malloc's locks in the child, so the
// allocations of the protobuf and writer code are safe although the parent
// has libuv threadpool threads.
//
// One snapshot at a time: start() while one runs returns kBusy and changes
// nothing (requests are refused, not queued: the caller knows whether a new
// one is still wanted once the running one is done).
//
// Threading: loop thread only. Lifetime: close() before destruction; the
// object may be destroyed once close()'s callback ran.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include <uv.h>

#include "kv/state_machine.h"
#include "raft.pb.h"
#include "storage/snapshot_file.h"

namespace raftkv::daemon {

struct SnapshotTakerMetrics {
  std::uint64_t taken = 0;             // snapshots written and verified
  std::uint64_t failed = 0;            // child failed or died (fork failures included)
  std::uint64_t last_duration_ms = 0;  // start() to reaping, of the last success
  std::uint64_t last_bytes = 0;        // file size of the last success
  std::uint64_t last_fork_us = 0;      // the loop stall of the last fork()
  bool running = false;
};

struct SnapshotResult {
  bool ok = false;
  storage::SnapshotInfo info;  // on success: path, meta, file bytes, pair count
  std::string error;           // on failure: one line
  std::uint64_t duration_ms = 0;
};

class SnapshotTaker {
 public:
  using Done = std::function<void(const SnapshotResult& result)>;
  enum class Start { kStarted, kBusy, kForkFailed };

  // Snapshots go to `dir` (which must exist). `poll_ms`: how often a running
  // child is polled for exit.
  SnapshotTaker(uv_loop_t* loop, std::string dir, std::uint64_t poll_ms = 10);
  ~SnapshotTaker();
  SnapshotTaker(const SnapshotTaker&) = delete;
  SnapshotTaker& operator=(const SnapshotTaker&) = delete;

  // Writes `state` as it is now, as the snapshot `meta` (meta.index must be
  // the index `state` has applied up to). `done` runs on the loop later,
  // exactly once, unless close() comes first. `error` gets the reason of a
  // kForkFailed.
  Start start(const kv::StateMachine& state, const pb::SnapshotMeta& meta, Done done,
              std::string* error);

  bool running() const { return child_ > 0; }
  // The running child's pid (0 if none): for tests and logs.
  pid_t child_pid() const { return child_; }
  const SnapshotTakerMetrics& metrics() const { return metrics_; }
  const std::string& dir() const { return dir_; }

  // Kills a running child (SIGKILL), reaps it, removes its tmp file, closes
  // the timer, then runs `closed`. The pending done of a killed snapshot is
  // not called. Later start()s return kBusy.
  void close(std::function<void()> closed);

 private:
  static void on_poll(uv_timer_t* timer);
  static void on_timer_closed(uv_handle_t* handle);
  void poll_child();
  void finish(int wait_status);
  SnapshotResult result_of(int wait_status);
  std::string read_child_error();
  void forget_child();

  uv_loop_t* loop_;
  std::string dir_;
  std::uint64_t poll_ms_;
  uv_timer_t timer_{};
  pid_t child_ = 0;
  int error_pipe_ = -1;  // read end: the child's one-line failure reason
  std::string path_;     // where the running child writes its file
  std::uint64_t started_ns_ = 0;
  Done done_;
  bool closing_ = false;
  bool timer_closed_ = false;
  std::function<void()> on_closed_;
  SnapshotTakerMetrics metrics_;
};

}  // namespace raftkv::daemon
