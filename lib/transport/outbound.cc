#include "transport/outbound.h"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <memory>
#include <utility>

#include "transport/connector_auth.h"
#include "transport/frame.h"
#include "transport/handshake.h"
#include "util/log.h"

namespace raftkv::transport {
namespace {

constexpr const char* kLog = "transport";
// One uv_write carries at most this many frames / about this many bytes:
// enough to turn a burst of small control frames into one writev, small
// enough that a batch never hides much data from the backlog check.
constexpr std::size_t kMaxBatchFrames = 64;
constexpr std::size_t kMaxBatchBytes = 256 * 1024;
constexpr unsigned kKeepaliveDelaySeconds = 10;
// State-change lines ("connected", "lost", "unreachable") go to info, at
// most this many per peer per window; the rest to debug, so that a flapping
// peer cannot flood the log while a single loss is always reported.
constexpr std::uint64_t kInfoWindowMs = 10'000;
constexpr unsigned kInfoLinesPerWindow = 4;

}  // namespace

struct Outbound::Socket {
  uv_tcp_t tcp;
  uv_connect_t connect;
  Outbound* owner = nullptr;
  bool handshake_sent = false;
  std::uint64_t handshake_sent_at_ms = 0;
  std::unique_ptr<ConnectorAuth> auth;  // with a cluster secret, until authenticated
  char scratch[256];                    // the peer never writes here; whatever arrives is discarded
};

struct Outbound::WriteBatch {
  uv_write_t request;
  Outbound* owner = nullptr;
  Socket* socket = nullptr;
  // The frames (the first perhaps cut), owned until the write callback: a
  // lane's buffer may move as frames are queued meanwhile.
  std::string data;
  uv_buf_t buf;
  std::size_t bytes = 0;
  std::size_t messages = 0;  // 0 for the handshake
};

Outbound::Outbound(uv_loop_t* loop, core::NodeId self, const std::string& self_address, Peer peer,
                   const TransportOptions& options, HandleTracker* handles, Hooks hooks)
    : loop_(loop),
      self_(self),
      self_address_(self_address),
      peer_(std::move(peer)),
      options_(options),
      handles_(handles),
      hooks_(std::move(hooks)),
      backoff_ms_(options.backoff_min_ms) {
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  timer_open_ = true;
  ++open_handles_;
  handles_->opened();
}

Outbound::~Outbound() = default;

PeerMetrics Outbound::metrics() const {
  PeerMetrics metrics;
  metrics.connected = state_ == State::kOpen;
  metrics.sent_messages = sent_messages_;
  metrics.sent_bytes = sent_bytes_;
  metrics.dropped_messages = dropped_messages_;
  metrics.queued_bytes = queued_bytes();
  metrics.reconnects = reconnects_;
  metrics.received_messages = received_messages_;
  return metrics;
}

std::size_t Outbound::limit_for(Lane lane) const {
  std::size_t limit = options_.max_queue_bytes;
  if (state_ != State::kOpen) limit = std::min(limit, options_.disconnected_queue_bytes);
  // The last sixteenth is reserved for control messages: a queue full of
  // entries must not cost the follower its heartbeats (and the leader its
  // leadership).
  if (lane == Lane::kData) limit -= limit / 16;
  return limit;
}

bool Outbound::enqueue(const pb::Message& message, std::span<const core::SharedEntry> entries) {
  if (state_ == State::kClosed) {
    ++dropped_messages_;
    return false;
  }
  // The first send starts the connection, even if this message is refused.
  if (state_ == State::kIdle) connect();
  const std::size_t size = sendable_size(message, entries, options_.max_frame_bytes);
  if (size == 0) {
    // A bug upstream (batches must respect the frame limit, only appends
    // carry entries), not a network condition: worth a warning every time.
    RKV_WARN(kLog,
             "peer %" PRIu64
             ": dropping a message that cannot be framed (%zu bytes and %zu "
             "spliced entries; max_frame_bytes %zu)",
             peer_.id, message.ByteSizeLong(), entries.size(), options_.max_frame_bytes);
    ++dropped_messages_;
    return false;
  }
  // Spliced entries make an AppendEntries data, as entries inside it do.
  const Lane lane = entries.empty() ? lane_of(message) : Lane::kData;
  // Encoded straight into the lane's buffer (frame_queue.h).
  if (queued_bytes() + kFrameHeaderBytes + size > limit_for(lane)) {
    ++dropped_messages_;
    return false;
  }
  lanes_[static_cast<int>(lane)].push([&](std::string* out) {
    append_sized_frame(message, entries, size, out);
    return true;
  });
  pending_bytes_ += kFrameHeaderBytes + size;
  ++pending_messages_;
  if (state_ == State::kOpen) hooks_.request_flush(this);
  return true;
}

// --- connection life cycle -------------------------------------------------

void Outbound::connect() {
  auto* socket = new Socket;
  socket->owner = this;
  socket->tcp.data = socket;
  socket->connect.data = socket;
  if (int status = uv_tcp_init(loop_, &socket->tcp); status < 0) {
    delete socket;
    state_ = State::kConnecting;
    fail("socket", status);
    return;
  }
  ++open_handles_;
  handles_->opened();
  socket_ = socket;
  state_ = State::kConnecting;

  sockaddr_storage address;
  int status = UV_EINVAL;
  if (util::to_sockaddr(peer_.address, &address)) {
    status = uv_tcp_connect(&socket->connect, &socket->tcp,
                            reinterpret_cast<const sockaddr*>(&address), connect_cb);
  }
  if (status < 0) {
    fail("connect", status);
    return;
  }
  uv_timer_start(&timer_, timer_cb, options_.connect_timeout_ms, 0);
}

void Outbound::on_connected(Socket* socket, int status) {
  if (socket != socket_) return;  // an abandoned attempt, already closing
  if (status < 0) {
    fail("connect", status);
    return;
  }
  uv_timer_stop(&timer_);
  uv_tcp_nodelay(&socket->tcp, 1);
  uv_tcp_keepalive(&socket->tcp, 1, kKeepaliveDelaySeconds);
  // We never expect data, but reading is how a closed or reset peer is
  // noticed while there is nothing to write.
  status = uv_read_start(reinterpret_cast<uv_stream_t*>(&socket->tcp), alloc_cb, read_cb);
  if (status < 0) {
    fail("read", status);
    return;
  }
  if (!options_.cluster_secret.empty()) {
    // The handshake waits for the peer's challenge; messages for its proof.
    socket->auth = std::make_unique<ConnectorAuth>(options_.cluster_secret,
                                                   make_handshake(self_, peer_.id, self_address_),
                                                   options_.max_frame_bytes);
    state_ = State::kAuthenticating;
    uv_timer_start(&timer_, timer_cb, 2 * options_.handshake_timeout_ms, 0);
    return;
  }
  state_ = State::kOpen;
  std::string handshake;
  append_frame(make_handshake(self_, peer_.id, self_address_), options_.max_frame_bytes,
               &handshake);
  if (!write_handshake(std::move(handshake))) return;
  on_open();
}

void Outbound::on_open() {
  if (log_info_now()) {
    RKV_INFO(kLog, "connected to peer %" PRIu64 " at %s", peer_.id,
             peer_.address.to_string().c_str());
  } else {
    RKV_DEBUG(kLog, "connected to peer %" PRIu64 " at %s", peer_.id,
              peer_.address.to_string().c_str());
  }
  reported_down_ = false;
  flush();
}

void Outbound::on_read(Socket* socket, ssize_t nread) {
  if (socket != socket_ || nread == 0) return;
  if (socket->auth != nullptr) {
    on_auth_read(socket, nread);
    return;
  }
  if (nread > 0) {
    RKV_DEBUG(kLog, "peer %" PRIu64 ": ignoring %zd bytes on our outbound connection", peer_.id,
              nread);
    return;
  }
  fail("read", static_cast<int>(nread));
}

void Outbound::on_auth_read(Socket* socket, ssize_t nread) {
  if (nread < 0) {
    fail_auth(std::string("connection closed during authentication (") +
              uv_strerror(static_cast<int>(nread)) + "): does it have the same cluster secret?");
    return;
  }
  ConnectorAuth& auth = *socket->auth;
  auth.commit(static_cast<std::size_t>(nread));
  for (;;) {
    switch (auth.next()) {
      case ConnectorAuth::Step::kNeedMore:
        return;
      case ConnectorAuth::Step::kFailed:
        fail_auth(auth.error());
        return;
      case ConnectorAuth::Step::kSendHandshake:
        if (!write_handshake(auth.handshake_frame())) return;
        break;
      case ConnectorAuth::Step::kDone:
        // Freed inside libuv's read callback: libuv is done with the buffer.
        socket->auth.reset();
        uv_timer_stop(&timer_);
        state_ = State::kOpen;
        on_open();
        return;
    }
  }
}

void Outbound::fail_auth(const std::string& why) {
  // A WARN for the first failure since the peer was last reached (within
  // the per-peer line budget); fail() then only logs at debug.
  if (!reported_down_ && log_info_now()) {
    RKV_WARN(kLog, "peer %" PRIu64 " at %s: authentication failed: %s", peer_.id,
             peer_.address.to_string().c_str(), why.c_str());
  } else {
    RKV_DEBUG(kLog, "peer %" PRIu64 " at %s: authentication failed: %s", peer_.id,
              peer_.address.to_string().c_str(), why.c_str());
  }
  reported_down_ = true;
  fail("authentication", UV_EPROTO);
}

void Outbound::on_timer() {
  if (state_ == State::kAuthenticating) {
    fail_auth("no answer within " + std::to_string(2 * options_.handshake_timeout_ms) +
              " ms: does it have a cluster secret?");
  } else if (state_ == State::kConnecting) {
    fail("connect", UV_ETIMEDOUT);
  } else if (state_ == State::kBackoff) {
    ++reconnects_;
    connect();
  }
}

bool Outbound::log_info_now() {
  const std::uint64_t now = uv_now(loop_);
  if (info_lines_ == 0 || now - info_window_start_ms_ >= kInfoWindowMs) {
    info_window_start_ms_ = now;
    info_lines_ = 0;
  }
  return ++info_lines_ <= kInfoLinesPerWindow;
}

void Outbound::fail(const char* operation, int status) {
  if (state_ == State::kClosed) return;
  const char* what = state_ == State::kOpen ? "connection lost"
                     : reported_down_       ? "still unreachable"
                                            : "unreachable";
  if (!reported_down_ && log_info_now()) {
    RKV_INFO(kLog, "peer %" PRIu64 " at %s: %s (%s: %s); retrying", peer_.id,
             peer_.address.to_string().c_str(), what, operation, uv_strerror(status));
  } else {
    RKV_DEBUG(kLog, "peer %" PRIu64 " at %s: %s (%s: %s); retrying", peer_.id,
              peer_.address.to_string().c_str(), what, operation, uv_strerror(status));
  }
  reported_down_ = true;
  // Reset the backoff only for a connection that held for a while after its
  // handshake went out. A peer that accepts and at once drops us (say, it
  // rejects our handshake) must not be redialled every backoff_min_ms.
  if (socket_ != nullptr && socket_->handshake_sent &&
      uv_now(loop_) - socket_->handshake_sent_at_ms >= options_.backoff_max_ms) {
    backoff_ms_ = options_.backoff_min_ms;
  }
  close_socket();
  drop_pending();
  state_ = State::kBackoff;
  uv_timer_start(&timer_, timer_cb, backoff_ms_, 0);
  backoff_ms_ = std::min(std::max<std::uint64_t>(backoff_ms_ * 2, 1), options_.backoff_max_ms);
}

void Outbound::close_socket() {
  if (socket_ == nullptr) return;
  Socket* socket = std::exchange(socket_, nullptr);
  // Pending connect and write requests complete with UV_ECANCELED before
  // the close callback, which frees the socket.
  uv_close(reinterpret_cast<uv_handle_t*>(&socket->tcp), socket_closed_cb);
}

void Outbound::drop_pending() {
  dropped_messages_ += pending_messages_;
  for (auto& lane : lanes_) lane.clear();
  pending_messages_ = 0;
  pending_bytes_ = 0;
}

void Outbound::set_address(util::Address address) {
  if (address == peer_.address) return;
  RKV_INFO(kLog, "peer %" PRIu64 ": address changed from %s to %s", peer_.id,
           peer_.address.to_string().c_str(), address.to_string().c_str());
  peer_.address = std::move(address);
  if (state_ == State::kIdle || state_ == State::kClosed) return;  // dialled on first send
  // What is queued was bound for a connection that is going away: dropped,
  // as after any connection failure (Raft resends fresher messages).
  close_socket();
  drop_pending();
  uv_timer_stop(&timer_);
  backoff_ms_ = options_.backoff_min_ms;
  reported_down_ = false;
  ++reconnects_;
  connect();
}

void Outbound::handle_closed() {
  if (--open_handles_ > 0 || state_ != State::kClosed || !hooks_.released) return;
  // Copied: `released` may destroy this object, and with it hooks_.
  const std::function<void(Outbound*)> released = hooks_.released;
  released(this);
}

void Outbound::close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  close_socket();
  drop_pending();
  if (timer_open_) {
    timer_open_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), timer_closed_cb);
  }
}

// --- writing ----------------------------------------------------------------

bool Outbound::write_handshake(std::string frame) {
  auto* batch = new WriteBatch;
  batch->data = std::move(frame);
  batch->bytes = batch->data.size();
  return submit(batch);
}

void Outbound::flush() {
  while (write_batch()) {
  }
}

// Hands the next batch of queued frames (control lane first) to the
// socket: written at once with uv_try_write (one writev) when libuv has
// nothing queued, the rest through uv_write. A completed uv_write costs an
// epoll_ctl (libuv 1.44 re-registers the socket whenever its write queue
// drains) and an allocation; on an open, keeping-up connection a batch
// almost always fits the socket buffer, so the try is the usual path.
// uv_try_write refuses (UV_EAGAIN) while earlier writes are still queued,
// so frames never overtake each other.
bool Outbound::write_batch() {
  if (state_ != State::kOpen || pending_messages_ == 0) return false;
  auto* stream = reinterpret_cast<uv_stream_t*>(&socket_->tcp);
  if (uv_stream_get_write_queue_size(stream) >= options_.socket_backlog_bytes) return false;
  // A lane's frames lie back to back: one buffer per lane.
  std::array<uv_buf_t, 2> bufs;
  unsigned buf_count = 0;
  std::array<std::size_t, 2> taken{};  // frames of each lane in this batch
  std::size_t count = 0;
  std::size_t bytes = 0;
  for (int lane = 0; lane < 2; ++lane) {
    FrameQueue& queue = lanes_[lane];
    std::size_t lane_bytes = 0;
    for (std::size_t i = 0; i < queue.count(); ++i) {
      if (count == kMaxBatchFrames || bytes >= kMaxBatchBytes) break;
      lane_bytes += queue.size_at(i);
      bytes += queue.size_at(i);
      ++count;
      ++taken[lane];
    }
    if (lane_bytes > 0) {
      bufs[buf_count++] = uv_buf_init(queue.front(), static_cast<unsigned>(lane_bytes));
    }
  }
  const int written = uv_try_write(stream, bufs.data(), buf_count);
  if (written < 0 && written != UV_EAGAIN) {
    fail("write", written);  // drops (and counts) the queue, this batch included
    return false;
  }
  std::size_t done = written > 0 ? static_cast<std::size_t>(written) : 0;
  const std::size_t unwritten = bytes - done;
  sent_bytes_ += done;
  pending_bytes_ -= done;
  // Frames written whole are sent; the rest (the first one perhaps cut) is
  // copied into one uv_write, allocated only then (the usual try writes
  // all).
  std::unique_ptr<WriteBatch> batch;
  for (int lane = 0; lane < 2; ++lane) {
    FrameQueue& queue = lanes_[lane];
    for (; taken[lane] > 0; --taken[lane]) {
      const std::size_t size = queue.size_at(0);
      if (done >= size) {
        done -= size;
        ++sent_messages_;
      } else {
        const std::size_t rest = size - done;
        pending_bytes_ -= rest;
        if (!batch) {
          batch = std::make_unique<WriteBatch>();
          batch->data.reserve(unwritten);
        }
        batch->data.append(queue.front() + done, rest);
        batch->bytes += rest;
        ++batch->messages;
        done = 0;
      }
      --pending_messages_;
      queue.pop_front();
    }
  }
  if (!batch) return true;
  return submit(batch.release());
}

bool Outbound::submit(WriteBatch* batch) {
  batch->owner = this;
  batch->socket = socket_;
  batch->request.data = batch;
  batch->buf = uv_buf_init(batch->data.data(), static_cast<unsigned>(batch->data.size()));
  inflight_bytes_ += batch->bytes;
  const int status = uv_write(&batch->request, reinterpret_cast<uv_stream_t*>(&socket_->tcp),
                              &batch->buf, 1, write_cb);
  if (status < 0) {  // no callback will come
    inflight_bytes_ -= batch->bytes;
    dropped_messages_ += batch->messages;
    delete batch;
    fail("write", status);
    return false;
  }
  return true;
}

void Outbound::on_written(WriteBatch* batch, int status) {
  inflight_bytes_ -= batch->bytes;
  Socket* socket = batch->socket;
  if (status == 0 && batch->messages == 0) {
    socket->handshake_sent = true;
    socket->handshake_sent_at_ms = uv_now(loop_);
  } else if (status == 0) {
    sent_messages_ += batch->messages;
    sent_bytes_ += batch->bytes;
  } else {
    dropped_messages_ += batch->messages;
  }
  delete batch;
  if (socket != socket_) return;  // canceled by close_socket(); nothing more to do
  if (status < 0) {
    fail("write", status);
    return;
  }
  flush();  // libuv's queue shrank: hand over more
}

// --- libuv callbacks ----------------------------------------------------------

void Outbound::connect_cb(uv_connect_t* request, int status) {
  auto* socket = static_cast<Socket*>(request->data);
  socket->owner->on_connected(socket, status);
}

void Outbound::alloc_cb(uv_handle_t* handle, std::size_t /*suggested*/, uv_buf_t* buf) {
  auto* socket = static_cast<Socket*>(handle->data);
  if (socket->auth != nullptr) {
    const std::span<char> space = socket->auth->read_space();
    *buf = uv_buf_init(space.data(), static_cast<unsigned>(space.size()));
    return;
  }
  *buf = uv_buf_init(socket->scratch, sizeof socket->scratch);
}

void Outbound::read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* /*buf*/) {
  auto* socket = static_cast<Socket*>(stream->data);
  socket->owner->on_read(socket, nread);
}

void Outbound::write_cb(uv_write_t* request, int status) {
  auto* batch = static_cast<WriteBatch*>(request->data);
  batch->owner->on_written(batch, status);
}

void Outbound::timer_cb(uv_timer_t* timer) {
  static_cast<Outbound*>(timer->data)->on_timer();
}

void Outbound::socket_closed_cb(uv_handle_t* handle) {
  auto* socket = static_cast<Socket*>(handle->data);
  Outbound* owner = socket->owner;
  HandleTracker* handles = owner->handles_;
  delete socket;
  owner->handle_closed();  // may destroy the owner
  handles->closed();       // may complete Transport::close(): touch nothing after
}

void Outbound::timer_closed_cb(uv_handle_t* handle) {
  auto* owner = static_cast<Outbound*>(handle->data);
  HandleTracker* handles = owner->handles_;
  owner->handle_closed();  // may destroy the owner
  handles->closed();
}

}  // namespace raftkv::transport
