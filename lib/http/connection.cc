#include "http/connection.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "http/responder.h"
#include "http/server_state.h"
#include "util/log.h"

namespace raftkv::http {

namespace {
constexpr const char* kLog = "http";

Connection* owner(void* data) {
  return static_cast<Connection*>(data);
}
}  // namespace

// One queued write: owns the bytes until libuv is done with them.
struct WriteRequest {
  uv_write_t request;
  std::string head;
  std::string body;
  std::string tail;  // what was left of a borrowed body
};

namespace {
// Answers to pipelined requests up to this size are gathered (copied) into
// the connection's output buffer and leave in one writev; a larger body is
// written from where it is, together with what is gathered before it.
constexpr std::size_t kGatherBodyBytes = 4096;
// Gathered output is written once it reaches this size, so that a burst of
// tiny pipelined requests cannot make it grow without bound.
constexpr std::size_t kGatherLimitBytes = 64 * 1024;
}  // namespace

Connection::Connection(std::shared_ptr<ServerState> server)
    : server_(std::move(server)), parser_(server_->limits) {}

Connection::~Connection() = default;

void Connection::start(uv_stream_t* listener) {
  uv_tcp_init(server_->loop, &tcp_);
  uv_timer_init(server_->loop, &timer_);
  tcp_.data = this;
  timer_.data = this;
  open_handles_ = 2;
  const int rc = uv_accept(listener, stream());
  if (rc != 0) {
    RKV_WARN(kLog, "accept failed: %s", uv_strerror(rc));
    close_now();
    return;
  }
  // Small responses must not wait for Nagle + delayed ACKs (40 ms stalls).
  uv_tcp_nodelay(&tcp_, 1);
  settle();
}

// ---- reading and parsing ---------------------------------------------------

void Connection::on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
  std::vector<char>& buffer = owner(handle->data)->server_->read_buffer;
  *buf = uv_buf_init(buffer.data(), static_cast<unsigned>(buffer.size()));
}

void Connection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  owner(stream->data)->handle_read(nread, buf);
}

void Connection::handle_read(ssize_t nread, const uv_buf_t* buf) {
  if (nread == 0) return;  // EAGAIN
  if (nread == UV_EOF) {
    reading_ = false;  // libuv has stopped reading
    peer_eof_ = true;
    handle_eof();
    return;
  }
  if (nread < 0) {
    RKV_DEBUG(kLog, "read failed: %s", uv_strerror(static_cast<int>(nread)));
    close_now();
    return;
  }
  server_->metrics.bytes_read += static_cast<std::uint64_t>(nread);
  if (state_ != State::kReading && state_ != State::kAwaiting) return;  // lingering: discard
  input_.append(buf->base, static_cast<std::size_t>(nread));
  if (state_ == State::kAwaiting) {
    settle();  // only buffer: the parser waits for the answer
    return;
  }
  drive();
}

void Connection::handle_eof() {
  switch (state_) {
    case State::kReading:
      finish_input();
      break;
    case State::kAwaiting:
      break;  // a half-close: answer first, then finish
    case State::kClosing:
      // Once our FIN is out the exchange is over; before that, on_shutdown
      // closes (closing now would cancel the response still being flushed).
      if (shutdown_done_) close_now();
      break;
    case State::kClosed:
      break;
  }
}

// Parses buffered input until it runs out or a request goes to the handler
// and is not answered at once. A handler answering synchronously does not
// recurse: respond() sees driving_ and this loop goes on with the next
// pipelined request.
void Connection::drive() {
  if (driving_) return;
  driving_ = true;
  resume_pending_ = false;
  while (state_ == State::kReading && buffered() > 0) {
    const auto result = parser_.feed(std::string_view(input_).substr(input_pos_));
    input_pos_ += result.consumed;
    if (result.status == RequestParser::Status::kError) {
      fail_request();
    } else if (result.status == RequestParser::Status::kRequest) {
      dispatch();
    }
  }
  if (buffered() == 0 || state_ == State::kClosing || state_ == State::kClosed) {
    input_.clear();
    input_pos_ = 0;
  }
  driving_ = false;
  if (!flush_output()) return;
  settle();
}

// Brings reading and the timer in line with the state after input or output.
void Connection::settle() {
  if (driving_) return;
  if (state_ == State::kReading) {
    if (peer_eof_) {
      finish_input();
      return;
    }
    if (parser_.take_expect_continue() && parser_.phase() == RequestParser::Phase::kBody) {
      write_continue();
      if (state_ != State::kReading) return;
    }
    start_reading();
    arm_request_timer();
  } else if (state_ == State::kAwaiting) {
    // Keep reading to notice resets, but only up to the pipelining budget.
    if (buffered() > server_->limits.max_pipelined_bytes) {
      stop_reading();
    } else {
      start_reading();
    }
    // The handler owns the request's deadline (the daemon answers 504);
    // after Server::close() the timer is the grace period instead. The
    // timer is not stopped: a request's deadline left running expires
    // harmlessly (handle_timer), and stopping and re-arming it for every
    // request showed in the profile.
    wanted_deadline_ = 0;
  }
}

// All input is parsed and the client will send no more.
void Connection::finish_input() {
  const auto result = parser_.finish();
  if (result.status == RequestParser::Status::kError) {
    fail_request();
  } else {
    close_gracefully();
  }
}

void Connection::dispatch() {
  Request request = parser_.take_request();
  keep_alive_ = request.keep_alive;
  http10_keep_alive_ = request.keep_alive && request.http_major == 1 && request.http_minor == 0;
  header_deadline_ = 0;
  state_ = State::kAwaiting;
  const std::uint64_t id = ++request_id_;
  ++server_->metrics.requests;
  // The handler gets the only Responder (moved along, never copied, on the
  // usual path). dispatch() holds one more count until the handler returns,
  // as a copy of its own would: a throwing handler is answered below, and
  // one that neither answered nor kept a copy is abandoned (500) at the end.
  responders_ = 2;
  try {
    server_->handler(std::move(request), Responder(weak_from_this(), id));
  } catch (const std::exception& e) {
    RKV_ERROR(kLog, "request handler threw: %s", e.what());
    respond(id, error_response(500, "internal error"));
  } catch (...) {
    RKV_ERROR(kLog, "request handler threw a non-exception");
    respond(id, error_response(500, "internal error"));
  }
  let_go_responder(id);
  // The handler got an rvalue reference and may have moved parts out; what
  // is left (at least the header vector's capacity) serves the next request.
  parser_.recycle(std::move(request));
}

void Connection::fail_request() {
  const int status = parser_.error_status();
  server_->metrics.rejected.add(parser_.error_reason());
  RKV_DEBUG(kLog, "rejecting request: %d %s", status, parser_.error_message().c_str());
  send_error(status, parser_.error_message());
}

void Connection::send_error(int status, std::string_view message) {
  if (write_response(error_response(status, message), ConnectionHeader::kClose)) {
    close_gracefully();
  }
}

// ---- answering ---------------------------------------------------------------

bool Connection::awaiting(std::uint64_t request_id) const {
  return state_ == State::kAwaiting && request_id == request_id_;
}

void Connection::respond(std::uint64_t request_id, Response response) {
  if (!awaiting(request_id)) return;
  const bool close = !keep_alive_ || server_->closing;
  ConnectionHeader header = ConnectionHeader::kNone;
  if (close) {
    header = ConnectionHeader::kClose;
  } else if (http10_keep_alive_) {
    header = ConnectionHeader::kKeepAlive;
  }
  if (!write_response(std::move(response), header)) return;
  if (close) {
    close_gracefully();
    return;
  }
  state_ = State::kReading;
  if (driving_) return;  // answered inside dispatch(): drive() carries on
  // Nothing pipelined behind it (the usual case): no parsing to resume, so
  // no zero timer and no extra loop iteration per response.
  if (buffered() == 0) {
    settle();
    return;
  }
  // Answered later, from the application's own code (say, while Raft applies
  // a batch): resume from a fresh loop callback, so that send() never runs
  // the handler re-entrantly for the next pipelined request.
  resume_pending_ = true;
  start_timer(0);
}

void Connection::hold_responder(std::uint64_t request_id) {
  if (awaiting(request_id)) ++responders_;
}

void Connection::let_go_responder(std::uint64_t request_id) {
  if (!awaiting(request_id)) return;  // answered already (or a stale copy)
  if (--responders_ == 0) abandon(request_id);
}

void Connection::abandon(std::uint64_t request_id) {
  if (!awaiting(request_id)) return;
  RKV_WARN(kLog, "request handler dropped a request without answering");
  respond(request_id, error_response(500, "request dropped by the server"));
}

// The head goes to output_, behind anything gathered there. Inside drive()
// (answers to pipelined requests) a small body joins it and everything
// leaves in one writev at the end of drive() (flush_output); otherwise it
// is written now, the body from where it is.
bool Connection::write_response(Response response, ConnectionHeader connection) {
  const int status = sanitize_status(response.status);
  serialize_head(response, connection, &output_);
  std::string body;
  std::string_view borrowed;
  if (!status_forbids_body(status)) {
    body = std::move(response.body);
    borrowed = response.borrowed_body;
  }
  ++server_->metrics.responses_by_class[static_cast<std::size_t>(status / 100)];
  if (driving_ && body.size() + borrowed.size() <= kGatherBodyBytes) {
    output_.append(body).append(borrowed);
    return output_.size() < kGatherLimitBytes || flush_output();
  }
  const bool ok = queue_write(output_, std::move(body), borrowed);
  output_.clear();
  return ok;
}

// Writes what write_response() gathered; false if the connection closed.
bool Connection::flush_output() {
  if (output_.empty()) return state_ != State::kClosed;
  const bool ok = queue_write(output_, {}, {});
  output_.clear();
  // A burst of pipelined answers must not pin its buffer for the
  // connection's lifetime.
  if (output_.capacity() > kGatherLimitBytes) std::string().swap(output_);
  return ok;
}

void Connection::write_continue() {
  ++server_->metrics.responses_by_class[1];
  queue_write("HTTP/1.1 100 Continue\r\n\r\n", {}, {});
}

// Returns false if the connection had to be closed instead.
//
// A response usually fits the socket's send buffer, so it is written at
// once with uv_try_write (one writev of head, body and borrowed tail). Only
// what the kernel does not take goes through uv_write: every completed
// uv_write re-arms the socket's epoll watcher (libuv 1.44 queues it for an
// epoll_ctl even when nothing changed), which cost an epoll_ctl syscall and
// an allocation per response. uv_try_write refuses (UV_EAGAIN) while
// earlier writes are still queued, so responses never overtake each other.
//
// `head` and `tail` are only read here: whatever is not written at once is
// copied into the queued write.
bool Connection::queue_write(std::string_view head, std::string body, std::string_view tail) {
  uv_buf_t buffers[3];
  unsigned count = 0;
  for (const std::string_view part : {head, std::string_view(body), tail}) {
    if (part.empty()) continue;
    buffers[count++] =
        uv_buf_init(const_cast<char*>(part.data()), static_cast<unsigned>(part.size()));
  }
  if (count == 0) return true;
  const int written = uv_try_write(stream(), buffers, count);
  if (written < 0 && written != UV_EAGAIN) {
    RKV_DEBUG(kLog, "write failed: %s", uv_strerror(written));
    close_now();
    return false;
  }
  if (written > 0) {
    auto n = static_cast<std::size_t>(written);
    server_->metrics.bytes_written += n;
    if (n == head.size() + body.size() + tail.size()) return true;
    // Drop the n bytes written from the front of head, body, tail.
    const std::size_t from_head = std::min(n, head.size());
    head.remove_prefix(from_head);
    n -= from_head;
    const std::size_t from_body = std::min(n, body.size());
    body.erase(0, from_body);
    n -= from_body;
    tail.remove_prefix(n);
  }
  return queue_rest(head, std::move(body), tail);
}

// The part of a response the socket did not take at once (see queue_write).
bool Connection::queue_rest(std::string_view head, std::string body, std::string_view tail) {
  auto write = std::make_unique<WriteRequest>();
  write->head.assign(head);
  write->body = std::move(body);
  write->tail.assign(tail);
  uv_buf_t buffers[3];
  unsigned count = 0;
  for (std::string* part : {&write->head, &write->body, &write->tail}) {
    if (part->empty()) continue;
    buffers[count++] = uv_buf_init(part->data(), static_cast<unsigned>(part->size()));
  }
  write->request.data = write.get();
  const int rc = uv_write(&write->request, stream(), buffers, count, &Connection::on_write);
  if (rc != 0) {
    RKV_DEBUG(kLog, "write failed: %s", uv_strerror(rc));
    close_now();
    return false;
  }
  write.release();  // on_write frees it
  if (uv_stream_get_write_queue_size(stream()) > server_->limits.max_output_bytes) {
    server_->metrics.rejected.add(Rejection::kOutputBufferOverflow);
    RKV_WARN(kLog, "closing a connection whose client does not read its responses");
    close_now();
    return false;
  }
  return true;
}

void Connection::on_write(uv_write_t* request, int status) {
  std::unique_ptr<WriteRequest> write(static_cast<WriteRequest*>(request->data));
  Connection* self = owner(request->handle->data);
  if (status == 0) {
    self->server_->metrics.bytes_written +=
        write->head.size() + write->body.size() + write->tail.size();
  } else if (status != UV_ECANCELED) {
    RKV_DEBUG(kLog, "write failed: %s", uv_strerror(status));
    self->close_now();
  }
}

// ---- timers ------------------------------------------------------------------

void Connection::arm_request_timer() {
  const Limits& limits = server_->limits;
  const std::uint64_t now = uv_now(server_->loop);
  if (parser_.phase() != RequestParser::Phase::kHeaders) {
    header_deadline_ = 0;
    set_deadline(now + limits.idle_timeout_ms);
    return;
  }
  // Headers: the deadline runs from their first byte and does not move with
  // further bytes, or a slowloris client could trickle forever.
  if (header_deadline_ == 0) header_deadline_ = now + limits.header_timeout_ms;
  set_deadline(header_deadline_);
}

// The request deadline is enforced lazily: a timer due no later than
// `deadline` is left running and, on expiry, re-armed for the remainder
// (handle_timer). The idle deadline moves forward with every request, so a
// busy connection touches its timer about once per idle period instead of
// twice per request; the deadline itself is kept to the millisecond.
void Connection::set_deadline(std::uint64_t deadline) {
  wanted_deadline_ = deadline;
  if (timer_due_ != 0 && timer_due_ <= deadline) return;
  const std::uint64_t now = uv_now(server_->loop);
  start_timer(deadline > now ? deadline - now : 0);
}

void Connection::start_timer(std::uint64_t timeout_ms) {
  timer_due_ = uv_now(server_->loop) + timeout_ms;
  uv_timer_start(&timer_, &Connection::on_timer, timeout_ms, 0);
}

void Connection::on_timer(uv_timer_t* timer) {
  owner(timer->data)->handle_timer();
}

void Connection::handle_timer() {
  timer_due_ = 0;
  if (state_ == State::kAwaiting && !server_->closing) return;  // a stale request deadline
  if (state_ != State::kReading) {
    close_now();  // a grace period ran out
    return;
  }
  if (resume_pending_) {
    drive();
    return;
  }
  const std::uint64_t now = uv_now(server_->loop);
  if (wanted_deadline_ > now) {  // activity moved the deadline: see set_deadline()
    start_timer(wanted_deadline_ - now);
    return;
  }
  switch (parser_.phase()) {
    case RequestParser::Phase::kIdle:
      server_->metrics.rejected.add(Rejection::kIdleTimeout);
      close_gracefully();
      break;
    case RequestParser::Phase::kHeaders:
      server_->metrics.rejected.add(Rejection::kHeaderTimeout);
      send_error(408, "request headers not received in time");
      break;
    case RequestParser::Phase::kBody:
      server_->metrics.rejected.add(Rejection::kBodyTimeout);
      send_error(408, "request body stalled");
      break;
  }
}

// ---- closing -----------------------------------------------------------------

void Connection::shutdown() {
  if (state_ == State::kReading) {
    close_gracefully();
  } else if (state_ == State::kAwaiting) {
    start_timer(server_->limits.close_grace_ms);
  }
}

void Connection::close_gracefully() {
  if (state_ == State::kClosing || state_ == State::kClosed) return;
  if (!flush_output()) return;  // gathered answers go before the FIN
  state_ = State::kClosing;
  input_.clear();
  input_pos_ = 0;
  start_timer(server_->limits.close_grace_ms);
  // Sends FIN once every queued response is flushed.
  const int rc = uv_shutdown(&shutdown_request_, stream(), &Connection::on_shutdown);
  if (rc != 0) {
    close_now();
    return;
  }
  start_reading();  // drain the client's input until its EOF
}

void Connection::on_shutdown(uv_shutdown_t* request, int status) {
  Connection* self = owner(request->handle->data);
  if (self->state_ == State::kClosed) return;
  self->shutdown_done_ = true;
  // Otherwise wait for the client's EOF (or the grace timer).
  if (status != 0 || self->peer_eof_) self->close_now();
}

void Connection::close_now() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  input_.clear();
  input_pos_ = 0;
  output_.clear();
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Connection::on_close);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &Connection::on_close);
}

void Connection::on_close(uv_handle_t* handle) {
  Connection* self = owner(handle->data);
  if (--self->open_handles_ > 0) return;
  // Keep the state alive past the erase, which destroys `self`.
  const std::shared_ptr<ServerState> server = self->server_;
  server->on_connection_closed(self);
}

void Connection::start_reading() {
  if (reading_ || peer_eof_) return;
  const int rc = uv_read_start(stream(), &Connection::on_alloc, &Connection::on_read);
  if (rc != 0) {
    RKV_DEBUG(kLog, "read start failed: %s", uv_strerror(rc));
    close_now();
    return;
  }
  reading_ = true;
}

void Connection::stop_reading() {
  if (!reading_) return;
  uv_read_stop(stream());
  reading_ = false;
}

}  // namespace raftkv::http
