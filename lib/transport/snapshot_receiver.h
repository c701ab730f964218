// SnapshotReceiver writes a snapshot arriving as SnapshotChunk messages to
// disk while it arrives (never the whole file in memory), verifies it and
// puts it in place atomically; the other half of SnapshotSender (the chunk
// protocol is in proto/raft.proto).
//
// One transfer at a time, named by (sender, snapshot index, snapshot term),
// written to "<dir>/<snapshot file name>.part".
//
// Happy path: a chunk at offset 0 starts a transfer (the part file is
// created); chunks arriving in order are queued and written one at a time
// with uv_fs_write; after each write the receiver acks the bytes it now
// holds. After the write of the chunk marked done, a threadpool job
// fdatasyncs the part file, verifies all of it (storage::read_snapshot:
// framing, checksums, the size and the (index, term) announced), renames it
// to its final name and fsyncs the directory. Only then is the last ack
// (next_offset = the file size) sent and complete(sender, message term,
// info) called: the caller installs the snapshot from info.path.
//
// Chunks that do not fit:
// - out of order or already held: not written, answered with the bytes held
//   (the sender goes back there);
// - of another transfer: at offset 0 the current one is abandoned (its part
//   file deleted) and the new one starts; at any other offset the answer is
//   next_offset 0, so the sender starts over (it cannot resume a file we do
//   not have). A transfer that is being verified is not abandoned: chunks of
//   another one are answered 0 until it is done;
// - of the transfer that just completed (its last ack was lost): answered
//   with the file size again.
// The reorder queue is bounded (max_queued_bytes); a chunk that does not
// fit is dropped like a lost one.
//
// Failure modes, each answered with failed = true and a one-line error (the
// part file is deleted and the sender gives up): total_bytes above
// max_total_bytes; a malformed chunk (data beyond total_bytes, a total that
// changes mid-transfer, done before the end); a write, sync or rename error;
// a verification failure (a corrupt byte on the way).
//
// Leftover *.part files (a crash mid-transfer) are deleted by the
// constructor, which also creates `dir` if needed.
//
// Threading: loop thread only; I/O runs in libuv's threadpool. The receiver
// may be destroyed at any time (also from inside its callbacks): operations
// in flight complete into nothing; a part file left behind is removed by the
// next construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <uv.h>

#include "core/types.h"
#include "raft.pb.h"
#include "storage/snapshot_file.h"

namespace raftkv::transport {

struct SnapshotReceiverOptions {
  // Larger snapshots are refused before a byte is written.
  std::uint64_t max_total_bytes = std::uint64_t{64} << 30;
  // Chunks received in order but not yet written (a window of the sender's).
  std::size_t max_queued_bytes = 16 << 20;
};

struct SnapshotReceiverStats {
  std::uint64_t started = 0;    // transfers begun
  std::uint64_t completed = 0;  // verified, in place, reported
  std::uint64_t failed = 0;     // refused with failed = true
  std::uint64_t abandoned = 0;  // replaced by another transfer before completing
  std::uint64_t bytes_written = 0;
  std::uint64_t chunks_ignored = 0;  // duplicates, out of order, over the queue bound
  bool in_progress = false;
  std::uint64_t progress_bytes = 0;  // of the transfer in progress
  std::uint64_t progress_total = 0;
};

class SnapshotReceiver {
 public:
  // Hands an ack message (to = the chunk's sender) to the transport.
  using Send = std::function<void(pb::Message message)>;
  // A verified snapshot file is in place at info.path; `term` is the term of
  // the message that carried its last chunk.
  using Complete =
      std::function<void(core::NodeId from, std::uint64_t term, const storage::SnapshotInfo& info)>;

  SnapshotReceiver(uv_loop_t* loop, std::string dir, SnapshotReceiverOptions options, Send send,
                   Complete complete);
  ~SnapshotReceiver();
  SnapshotReceiver(const SnapshotReceiver&) = delete;
  SnapshotReceiver& operator=(const SnapshotReceiver&) = delete;

  // A message whose body is a snapshot_chunk (others are ignored).
  void on_chunk(const pb::Message& message);

  // Deletes the part file of the transfer in progress, if any (e.g. the
  // sender is no longer the leader). Nothing is answered.
  void abandon();

  const SnapshotReceiverStats& stats() const { return stats_; }
  const std::string& dir() const { return dir_; }

 private:
  struct File;
  struct Transfer;
  struct Pending {
    std::uint64_t offset = 0;
    std::string data;
    bool done = false;
  };

  bool is_current(core::NodeId from, const pb::SnapshotChunk& chunk) const;
  bool is_completed(core::NodeId from, const pb::SnapshotChunk& chunk) const;
  std::string check_chunk(const pb::SnapshotChunk& chunk) const;
  void start_transfer(core::NodeId from, std::uint64_t term, const pb::SnapshotChunk& chunk);
  void accept(std::uint64_t term, const pb::SnapshotChunk& chunk);
  void on_opened(std::uint64_t generation, std::int64_t result);
  void write_next();
  void on_written(std::uint64_t generation, std::size_t bytes, bool done, std::int64_t result);
  void verify_and_install();
  void on_installed(std::uint64_t generation, bool ok, const std::string& error,
                    const storage::SnapshotInfo& info);
  void refuse(core::NodeId to, std::uint64_t term, const pb::SnapshotChunk& chunk,
              const std::string& error);
  void fail_transfer(const std::string& error);
  void drop_transfer();
  void ack(core::NodeId to, std::uint64_t term, std::uint64_t index, std::uint64_t snapshot_term,
           std::uint64_t next_offset, const std::string& error = "");
  void ack_current();
  void remove_leftover_parts();

  uv_loop_t* loop_;
  std::string dir_;
  SnapshotReceiverOptions options_;
  Send send_;
  Complete complete_;
  std::shared_ptr<char> alive_;  // liveness token for async callbacks
  std::unique_ptr<Transfer> transfer_;
  std::uint64_t generation_ = 0;  // names the transfer a completion belongs to
  // The last completed transfer, to answer a resent last chunk.
  struct Completed {
    core::NodeId from = core::kNoNode;
    std::uint64_t index = 0;
    std::uint64_t term = 0;
    std::uint64_t total = 0;
  };
  std::optional<Completed> completed_;
  SnapshotReceiverStats stats_;
};

}  // namespace raftkv::transport
