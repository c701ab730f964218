#include "http_client.h"

#include <cassert>

namespace raftkv::bench {

namespace {
constexpr std::size_t kReadBufferSize = 64 * 1024;
}

// A libuv TCP handle must stay alive until its close callback, which may run
// after the Connection has moved on; so each connection attempt gets its own
// heap-allocated socket (one allocation per connect, not per request).
struct Connection::Socket {
  uv_tcp_t tcp{};
  uv_connect_t connect{};
  Connection* owner = nullptr;
};

Connection::Connection(uv_loop_t* loop, const sockaddr_storage& address, std::size_t depth,
                       ConnectionListener* listener)
    : loop_(loop),
      address_(address),
      listener_(listener),
      slots_(depth == 0 ? 1 : depth),
      read_buffer_(new char[kReadBufferSize]),
      parser_(&Connection::on_response_cb, this) {}

Connection::~Connection() {
  assert(state_ == State::kIdle);
}

void Connection::connect() {
  if (state_ != State::kIdle) return;
  socket_ = new Socket;
  socket_->owner = this;
  socket_->tcp.data = socket_;
  socket_->connect.data = socket_;
  uv_tcp_init(loop_, &socket_->tcp);
  state_ = State::kConnecting;
  connect_started_ns_ = uv_hrtime();
  head_ = count_ = 0;
  draining_ = false;
  parser_.reset();
  const int rc = uv_tcp_connect(&socket_->connect, &socket_->tcp,
                                reinterpret_cast<sockaddr*>(&address_), &Connection::on_connect_cb);
  if (rc != 0) {
    last_error_ = uv_strerror(rc);
    fail(Failure::kConnect);
  }
}

void Connection::close() {
  if (state_ == State::kIdle || state_ == State::kClosing) return;
  close_socket();
}

void Connection::fail(Failure why) {
  if (state_ == State::kIdle || state_ == State::kClosing) return;
  const std::size_t lost = count_;
  head_ = count_ = 0;
  close_socket();
  listener_->on_broken(*this, why, lost);
}

void Connection::close_socket() {
  state_ = State::kClosing;
  head_ = count_ = 0;
  uv_close(reinterpret_cast<uv_handle_t*>(&socket_->tcp), &Connection::on_close_cb);
  socket_ = nullptr;
}

void Connection::send() {
  assert(can_send());
  Slot& slot = slots_[tail()];
  ++count_;
  uv_buf_t buf = uv_buf_init(slot.request.data(), static_cast<unsigned>(slot.request.size()));
  auto* stream = reinterpret_cast<uv_stream_t*>(&socket_->tcp);
  // Most requests fit the socket buffer: write them synchronously and skip
  // the write request machinery; queue only what is left.
  const int written = uv_try_write(stream, &buf, 1);
  if (written == static_cast<int>(buf.len)) return;
  if (written < 0 && written != UV_EAGAIN) {
    last_error_ = uv_strerror(written);
    fail(Failure::kClosed);
    return;
  }
  if (written > 0) {
    buf.base += written;
    buf.len -= static_cast<unsigned>(written);
  }
  slot.write.data = socket_;
  const int rc = uv_write(&slot.write, stream, &buf, 1, &Connection::on_write_cb);
  if (rc != 0) {
    last_error_ = uv_strerror(rc);
    fail(Failure::kClosed);
  }
}

void Connection::handle_connect(int status) {
  if (status != 0) {
    last_error_ = uv_strerror(status);
    fail(Failure::kConnect);
    return;
  }
  uv_tcp_nodelay(&socket_->tcp, 1);
  state_ = State::kOpen;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&socket_->tcp), &Connection::on_alloc_cb,
                &Connection::on_read_cb);
  listener_->on_connected(*this);
}

void Connection::handle_read(ssize_t nread) {
  if (nread == UV_EOF) {
    // A server may close an idle keep-alive connection; that loses nothing.
    if (!parser_.finish() || count_ > 0) {
      last_error_ = "connection closed by the server";
      fail(Failure::kClosed);
    } else {
      close();
    }
    return;
  }
  if (nread < 0) {
    last_error_ = uv_strerror(static_cast<int>(nread));
    fail(Failure::kClosed);
    return;
  }
  if (!parser_.feed(read_buffer_.get(), static_cast<std::size_t>(nread)) &&
      state_ == State::kOpen) {
    last_error_ = parser_.error();
    fail(Failure::kProtocol);
  }
}

void Connection::handle_response(int status, std::string_view body) {
  if (state_ != State::kOpen) return;  // closed by an earlier callback in this read
  if (count_ == 0) {
    last_error_ = "response without a request";
    fail(Failure::kProtocol);
    return;
  }
  // Free the slot before calling out, so the listener can reuse it at once.
  const RequestInfo info = slots_[head_].info;
  head_ = (head_ + 1) % slots_.size();
  --count_;
  // After "Connection: close" send nothing more; requests already pipelined
  // behind this answer are lost when the server closes.
  if (!parser_.keep_alive()) draining_ = true;
  listener_->on_response(*this, status, info, body);
  if (draining_ && count_ == 0 && state_ == State::kOpen) close();
}

void Connection::handle_write(int status) {
  if (status < 0 && status != UV_ECANCELED) {
    last_error_ = uv_strerror(status);
    fail(Failure::kClosed);
  }
}

void Connection::on_connect_cb(uv_connect_t* request, int status) {
  auto* socket = static_cast<Socket*>(request->data);
  Connection* self = socket->owner;
  // A connection closed while connecting gets UV_ECANCELED here; its socket
  // is no longer current and the outcome does not matter.
  if (self == nullptr || self->socket_ != socket) return;
  self->handle_connect(status);
}

void Connection::on_alloc_cb(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
  auto* socket = static_cast<Socket*>(handle->data);
  *buf = uv_buf_init(socket->owner->read_buffer_.get(), kReadBufferSize);
}

void Connection::on_read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t*) {
  auto* socket = static_cast<Socket*>(stream->data);
  Connection* self = socket->owner;
  if (nread == 0 || self->socket_ != socket) return;
  self->handle_read(nread);
}

void Connection::on_write_cb(uv_write_t* request, int status) {
  auto* socket = static_cast<Socket*>(request->data);
  Connection* self = socket->owner;
  if (self->socket_ != socket) return;
  self->handle_write(status);
}

void Connection::on_close_cb(uv_handle_t* handle) {
  auto* socket = static_cast<Socket*>(handle->data);
  Connection* self = socket->owner;
  delete socket;
  self->state_ = State::kIdle;
  self->listener_->on_closed(*self);
}

void Connection::on_response_cb(void* context, int status, std::string_view body) {
  static_cast<Connection*>(context)->handle_response(status, body);
}

}  // namespace raftkv::bench
