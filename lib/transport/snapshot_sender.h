// SnapshotSender streams one snapshot file to one peer as SnapshotChunk
// messages (proto/raft.proto: the resumable chunk protocol), reading the
// file piece by piece with uv_fs_read: never the whole file in memory.
//
// Happy path: the file is opened; chunks of `chunk_bytes` are read and
// handed to `send` while less than `window_chunks` chunks are
// unacknowledged; every SnapshotChunkAck (fed in with on_ack) names the
// bytes the receiver holds and slides the window; the last chunk carries
// done = true and the meta; its ack (next_offset = the file size), which the
// receiver sends only once it has verified and installed the file, ends the
// transfer with done(true).
//
// Losses (a dropped message, a dropped connection) are repaired by going
// back to the last acknowledged offset (go-back-N):
// - no acknowledged progress for `retransmit_ms`: resend from there (each
//   further timeout without progress waits twice as long, up to 8x, so a
//   dead link is not flooded; progress resets it);
// - a duplicate ack (the receiver got a chunk out of order, so one before it
//   was lost): resend from there at once, but only once per loss: until the
//   data sent before that rewind is acknowledged, further duplicates are
//   echoes of the same loss (TCP NewReno's recovery point);
// - an ack below what the receiver acknowledged before (it restarted, or
//   discarded the transfer): start again from that offset.
// The total transfer time is not bounded, only the absence of progress:
// nothing acknowledged for `give_up_ms` ends it with done(false). While the
// receiver verifies the file (it holds every byte but the last chunk's),
// its answers to resent last chunks count as progress, so a long
// verification of a large file is not mistaken for a dead peer.
//
// Failure modes: the file cannot be opened or read, or is shorter than
// announced; the receiver acks with failed = true (bad checksum, disk
// error, too large); no progress for give_up_ms. Each ends with
// done(false, one-line reason).
//
// Cancelling: destroy the object (leadership lost, peer removed, a newer
// snapshot). done is then never called; reads in flight complete into
// nothing and the file is closed by the last one.
//
// Threading: loop thread only. `done` runs exactly once unless the sender is
// destroyed first; never from inside the constructor, possibly from inside
// on_ack(). The sender may be destroyed from inside `done`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <uv.h>

#include "core/types.h"
#include "raft.pb.h"
#include "storage/snapshot_file.h"

namespace raftkv::transport {

struct SnapshotSenderOptions {
  std::size_t chunk_bytes = 1 << 20;
  std::size_t window_chunks = 4;
  std::uint64_t retransmit_ms = 1000;
  std::uint64_t give_up_ms = 30000;
};

struct SnapshotSenderStats {
  std::uint64_t total_bytes = 0;  // the file
  std::uint64_t acked_bytes = 0;  // what the receiver holds
  std::uint64_t sent_bytes = 0;   // chunk data handed to send(), resends included
  std::uint64_t sent_chunks = 0;
  std::uint64_t rewinds = 0;  // go-back-N resends (timer, duplicate ack, receiver reset)
};

class SnapshotSender {
 public:
  // Hands one message (to = peer, term = the leader's term) to the transport.
  using Send = std::function<void(pb::Message message)>;
  using Done = std::function<void(bool ok, const std::string& error)>;

  // Starts at once. `snapshot` is the file's header as read by
  // storage::read_snapshot_header (path, meta, file_bytes); `term` is the
  // leader's current term, stamped on every chunk.
  SnapshotSender(uv_loop_t* loop, core::NodeId peer, std::uint64_t term,
                 storage::SnapshotInfo snapshot, SnapshotSenderOptions options, Send send,
                 Done done);
  ~SnapshotSender();
  SnapshotSender(const SnapshotSender&) = delete;
  SnapshotSender& operator=(const SnapshotSender&) = delete;

  // An ack from the peer. Acks naming another snapshot are ignored.
  void on_ack(const pb::SnapshotChunkAck& ack);

  core::NodeId peer() const { return peer_; }
  std::uint64_t term() const { return term_; }
  const storage::SnapshotInfo& snapshot() const { return snapshot_; }
  const SnapshotSenderStats& stats() const { return stats_; }
  bool finished() const { return finished_; }

 private:
  struct File;
  void on_opened(std::int64_t result);
  void pump();
  void read_next();
  void on_read(std::uint64_t offset, std::int64_t result, std::string data);
  void send_chunk(std::uint64_t offset, std::string data);
  void on_progress(std::uint64_t next_offset);
  void on_duplicate_ack();
  void rewind_to(std::uint64_t offset);
  void arm_timer();
  static void on_timer(uv_timer_t* timer);
  void on_timeout();
  void fail(const std::string& error);
  void finish(bool ok, const std::string& error);
  std::uint64_t now_ms() const;

  uv_loop_t* loop_;
  core::NodeId peer_;
  std::uint64_t term_;
  storage::SnapshotInfo snapshot_;
  SnapshotSenderOptions options_;
  Send send_;
  Done done_;

  std::shared_ptr<File> file_;   // also held by reads in flight
  uv_timer_t* timer_ = nullptr;  // heap: freed by its close callback
  std::shared_ptr<char> alive_;  // liveness token for async callbacks

  std::uint64_t acked_ = 0;              // the receiver holds [0, acked_)
  std::uint64_t next_send_ = 0;          // the next chunk starts here
  std::uint64_t recover_ = 0;            // in recovery from a loss until acked_ >= recover_
  std::uint64_t last_chunk_offset_ = 0;  // where the done chunk starts
  bool opened_ = false;
  bool reading_ = false;
  std::uint64_t last_progress_ms_ = 0;
  std::uint64_t retransmit_delay_ms_ = 0;  // doubles per timeout without progress
  bool finished_ = false;
  SnapshotSenderStats stats_;
};

}  // namespace raftkv::transport
