#include "transport/snapshot_sender.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "storage/fs_request.h"

namespace raftkv::transport {

// The open snapshot file. Shared with reads in flight, so that a sender
// destroyed mid-read never closes an fd a threadpool read still uses.
struct SnapshotSender::File {
  explicit File(uv_file descriptor) : fd(descriptor) {}
  ~File() { ::close(fd); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  uv_file fd;
};

namespace {

using ReadDone = std::function<void(std::int64_t result, std::string data)>;

// One uv_fs_read with its buffer, owned by the request until it completes.
struct ReadRequest {
  uv_fs_t fs{};
  std::weak_ptr<void> alive;
  std::shared_ptr<void> file;  // keeps the fd open until the read is done
  std::string buffer;
  ReadDone done;
};

void on_read_done(uv_fs_t* req) {
  std::unique_ptr<ReadRequest> request(static_cast<ReadRequest*>(req->data));
  const std::int64_t result = req->result;
  uv_fs_req_cleanup(req);
  if (request->alive.expired()) return;  // the sender is gone
  ReadDone done = std::move(request->done);
  std::string data = std::move(request->buffer);
  request.reset();
  done(result, std::move(data));
}

// Reads up to `length` bytes at `offset`; `done` gets the byte count (or a
// negative errno) and the bytes.
void read_at(uv_loop_t* loop, std::weak_ptr<void> alive, std::shared_ptr<void> file, uv_file fd,
             std::uint64_t offset, std::size_t length, ReadDone done) {
  auto request = std::make_unique<ReadRequest>();
  request->alive = std::move(alive);
  request->file = std::move(file);
  request->buffer.resize(length);
  request->done = std::move(done);
  request->fs.data = request.get();
  uv_buf_t buf = uv_buf_init(request->buffer.data(), static_cast<unsigned>(length));
  const int rc =
      uv_fs_read(loop, &request->fs, fd, &buf, 1, static_cast<std::int64_t>(offset), on_read_done);
  if (rc >= 0) {
    request.release();  // on_read_done owns it now
    return;
  }
  // Could not even queue it: report asynchronously like any other result.
  storage::fs::defer(loop, request->alive, rc,
                     [done = std::move(request->done)](std::int64_t result) { done(result, ""); });
}

}  // namespace

SnapshotSender::SnapshotSender(uv_loop_t* loop, core::NodeId peer, std::uint64_t term,
                               storage::SnapshotInfo snapshot, SnapshotSenderOptions options,
                               Send send, Done done)
    : loop_(loop),
      peer_(peer),
      term_(term),
      snapshot_(std::move(snapshot)),
      options_(options),
      send_(std::move(send)),
      done_(std::move(done)),
      alive_(std::make_shared<char>()) {
  options_.chunk_bytes = std::max<std::size_t>(options_.chunk_bytes, 1);
  options_.window_chunks = std::max<std::size_t>(options_.window_chunks, 1);
  stats_.total_bytes = snapshot_.file_bytes;
  retransmit_delay_ms_ = options_.retransmit_ms;
  timer_ = new uv_timer_t;
  uv_timer_init(loop_, timer_);
  timer_->data = this;
  last_progress_ms_ = now_ms();
  storage::fs::open(loop_, alive_, snapshot_.path, O_RDONLY | O_CLOEXEC, 0,
                    [this](std::int64_t result) { on_opened(result); });
}

SnapshotSender::~SnapshotSender() {
  // The timer's memory is released by its close callback, after this object
  // is gone; the callback must therefore not touch the sender.
  uv_close(reinterpret_cast<uv_handle_t*>(timer_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_timer_t*>(handle); });
}

void SnapshotSender::on_opened(std::int64_t result) {
  if (result < 0)
    return fail("open " + snapshot_.path + ": " + uv_strerror(static_cast<int>(result)));
  file_ = std::make_shared<File>(static_cast<uv_file>(result));
  if (snapshot_.file_bytes == 0) return fail(snapshot_.path + ": empty snapshot file");
  opened_ = true;
  arm_timer();
  pump();
}

void SnapshotSender::pump() {
  if (finished_ || !opened_ || reading_) return;
  if (next_send_ >= snapshot_.file_bytes) return;  // everything is out
  const std::uint64_t window = options_.window_chunks * options_.chunk_bytes;
  if (next_send_ >= acked_ + window) return;  // wait for acks
  read_next();
}

void SnapshotSender::read_next() {
  reading_ = true;
  const std::uint64_t offset = next_send_;
  const std::size_t length = static_cast<std::size_t>(
      std::min<std::uint64_t>(options_.chunk_bytes, snapshot_.file_bytes - offset));
  read_at(loop_, alive_, file_, file_->fd, offset, length,
          [this, offset](std::int64_t result, std::string data) {
            on_read(offset, result, std::move(data));
          });
}

void SnapshotSender::on_read(std::uint64_t offset, std::int64_t result, std::string data) {
  reading_ = false;
  if (finished_) return;
  if (result < 0) {
    return fail("read " + snapshot_.path + ": " + uv_strerror(static_cast<int>(result)));
  }
  // A rewind while the read was in flight: these bytes are not next.
  if (offset != next_send_) return pump();
  if (result == 0) {
    return fail(snapshot_.path + ": ends at byte " + std::to_string(offset) + " of " +
                std::to_string(snapshot_.file_bytes));
  }
  data.resize(static_cast<std::size_t>(result));
  next_send_ = offset + data.size();
  send_chunk(offset, std::move(data));
  pump();
}

void SnapshotSender::send_chunk(std::uint64_t offset, std::string data) {
  pb::Message message;
  message.set_to(peer_);
  message.set_term(term_);
  auto* chunk = message.mutable_snapshot_chunk();
  chunk->set_index(snapshot_.meta.index());
  chunk->set_term(snapshot_.meta.term());
  chunk->set_offset(offset);
  chunk->set_total_bytes(snapshot_.file_bytes);
  if (offset + data.size() == snapshot_.file_bytes) {
    chunk->set_done(true);
    *chunk->mutable_meta() = snapshot_.meta;
    last_chunk_offset_ = offset;
  }
  stats_.sent_bytes += data.size();
  ++stats_.sent_chunks;
  chunk->set_data(std::move(data));
  send_(std::move(message));
}

void SnapshotSender::on_ack(const pb::SnapshotChunkAck& ack) {
  if (finished_ || ack.index() != snapshot_.meta.index() || ack.term() != snapshot_.meta.term()) {
    return;
  }
  if (ack.failed()) {
    return fail("peer " + std::to_string(peer_) + " refused the snapshot: " + ack.error());
  }
  const std::uint64_t next = ack.next_offset();
  if (next > snapshot_.file_bytes) return;  // nonsense: ignore
  if (next > acked_) return on_progress(next);
  if (next == acked_) return on_duplicate_ack();
  // The receiver holds less than it acknowledged before: it restarted or
  // dropped the transfer. Start again from what it holds now.
  acked_ = next;
  stats_.acked_bytes = next;
  rewind_to(next);
}

void SnapshotSender::on_progress(std::uint64_t next_offset) {
  acked_ = next_offset;
  stats_.acked_bytes = next_offset;
  last_progress_ms_ = now_ms();
  retransmit_delay_ms_ = options_.retransmit_ms;
  if (acked_ == snapshot_.file_bytes) return finish(true, "");
  next_send_ = std::max(next_send_, acked_);
  arm_timer();
  pump();
}

void SnapshotSender::on_duplicate_ack() {
  const bool all_sent = next_send_ >= snapshot_.file_bytes;
  if (all_sent && acked_ == last_chunk_offset_) {
    // The receiver holds everything but the last chunk: it is writing or
    // verifying the file. Alive, just slow: not a loss, and not a reason
    // to give up.
    last_progress_ms_ = now_ms();
    return;
  }
  if (next_send_ <= acked_) return;  // nothing outstanding
  if (acked_ < recover_) return;     // an echo of a loss already being repaired
  rewind_to(acked_);
}

void SnapshotSender::rewind_to(std::uint64_t offset) {
  ++stats_.rewinds;
  recover_ = next_send_;
  next_send_ = offset;
  pump();
}

void SnapshotSender::arm_timer() {
  // Wake for the next retransmission, or earlier if giving up comes first.
  const std::uint64_t give_up_at = last_progress_ms_ + options_.give_up_ms;
  const std::uint64_t now = now_ms();
  const std::uint64_t until_give_up = give_up_at > now ? give_up_at - now : 0;
  const std::uint64_t delay =
      std::max<std::uint64_t>(1, std::min<std::uint64_t>(options_.retransmit_ms, until_give_up));
  uv_timer_start(timer_, on_timer, delay, 0);
}

void SnapshotSender::on_timer(uv_timer_t* timer) {
  static_cast<SnapshotSender*>(timer->data)->on_timeout();
}

void SnapshotSender::on_timeout() {
  if (finished_) return;
  if (now_ms() >= last_progress_ms_ + options_.give_up_ms) {
    return fail("no progress from peer " + std::to_string(peer_) + " for " +
                std::to_string(options_.give_up_ms) + " ms (" + std::to_string(acked_) + " of " +
                std::to_string(snapshot_.file_bytes) + " bytes acknowledged)");
  }
  // Everything in flight may be lost. Each retransmission without progress
  // waits twice as long (up to 8x): a dead link is not flooded.
  retransmit_delay_ms_ = std::min(retransmit_delay_ms_ * 2, options_.retransmit_ms * 8);
  arm_timer();
  if (next_send_ > acked_) rewind_to(acked_);
}

void SnapshotSender::fail(const std::string& error) {
  finish(false, error);
}

void SnapshotSender::finish(bool ok, const std::string& error) {
  finished_ = true;
  uv_timer_stop(timer_);
  file_.reset();  // reads in flight keep their own reference
  Done done = std::move(done_);
  done_ = nullptr;
  // Last statement: `done` may destroy this sender.
  if (done) done(ok, error);
}

std::uint64_t SnapshotSender::now_ms() const {
  // Real time, not uv_now(): the loop's cached time may lag by a long
  // iteration, and "no progress for give_up_ms" must hold in real time.
  return uv_hrtime() / 1000000;
}

}  // namespace raftkv::transport
