// Internal: one accepted HTTP connection.
//
// Happy path: bytes are appended to input_ and parsed (drive()); a complete
// request pauses the parser and goes to the handler (state kAwaiting); the
// parser's unconsumed bytes stay in input_. When the Responder answers, the
// response is written with one writev (head and body as separate buffers,
// the body not copied; uv_write only for what the socket does not take at
// once; the small answers to requests pipelined in one read are gathered
// and leave in one writev) and parsing resumes where it stopped: at once if the handler answered
// synchronously; else, when pipelined bytes wait, from a zero timer (never
// inside the caller's send()), so pipelined requests are answered in order.
// While a request is with the handler the socket is still read (to notice
// resets) until max_pipelined_bytes are buffered; then
// reading stops (TCP backpressure).
//
// Failure modes: a protocol error or limit answers 4xx with
// "Connection: close" and closes gracefully: uv_shutdown once the response
// is flushed, then whatever the client still sends is read and discarded
// until its EOF or close_grace_ms (closing with unread input would send a
// RST, which can destroy the response before the client reads it). Read and
// write errors, a client that lets max_output_bytes pile up, and expired
// grace periods close at once. One uv_timer serves the header, body, idle
// and grace deadlines, depending on the state.
//
// Lifetime: owned by ServerState::connections; freed in the close callback
// of the last of its two handles. Responders hold weak references only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/request_parser.h"
#include "http/response.h"

namespace raftkv::http {

struct ServerState;
struct WriteRequest;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  explicit Connection(std::shared_ptr<ServerState> server);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Accepts the pending client of `listener` and starts reading.
  void start(uv_stream_t* listener);
  // Server::close(): answer the request in hand (with close_grace_ms to do
  // it), then close gracefully; idle connections close now.
  void shutdown();
  // Closes both handles now; queued writes are cancelled.
  void close_now();

  // Responder entry points; all ignore a stale request_id.
  void respond(std::uint64_t request_id, Response response);
  void abandon(std::uint64_t request_id);
  bool awaiting(std::uint64_t request_id) const;
  // Copies of the request's Responder come and go; when the last one goes
  // while the request is still unanswered, it is abandoned (500).
  void hold_responder(std::uint64_t request_id);
  void let_go_responder(std::uint64_t request_id);

 private:
  enum class State { kReading, kAwaiting, kClosing, kClosed };

  static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void on_write(uv_write_t* request, int status);
  static void on_shutdown(uv_shutdown_t* request, int status);
  static void on_timer(uv_timer_t* timer);
  static void on_close(uv_handle_t* handle);

  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }
  std::size_t buffered() const { return input_.size() - input_pos_; }

  void handle_read(ssize_t nread, const uv_buf_t* buf);
  void handle_eof();
  void handle_timer();
  void drive();
  void settle();
  void dispatch();
  void finish_input();
  void fail_request();
  void send_error(int status, std::string_view message);
  bool write_response(Response response, ConnectionHeader connection);
  bool flush_output();
  void write_continue();
  bool queue_write(std::string_view head, std::string body, std::string_view tail);
  bool queue_rest(std::string_view head, std::string body, std::string_view tail);
  void close_gracefully();
  void arm_request_timer();
  void set_deadline(std::uint64_t deadline);
  void start_timer(std::uint64_t timeout_ms);
  void start_reading();
  void stop_reading();

  std::shared_ptr<ServerState> server_;
  uv_tcp_t tcp_;
  uv_timer_t timer_;
  uv_shutdown_t shutdown_request_;
  int open_handles_ = 0;
  State state_ = State::kReading;
  RequestParser parser_;
  std::string input_;  // received, not yet parsed from input_pos_ on
  // Response heads, and the small answers to pipelined requests gathered
  // while drive() runs (write_response); empty between writes.
  std::string output_;
  std::size_t input_pos_ = 0;
  bool reading_ = false;
  bool peer_eof_ = false;
  bool shutdown_done_ = false;    // our FIN is out (all responses flushed)
  bool driving_ = false;          // inside drive(): a synchronous answer must not recurse
  bool resume_pending_ = false;   // answered later: drive() from the next timer callback
  std::uint64_t request_id_ = 0;  // of the request in hand (kAwaiting)
  std::uint32_t responders_ = 0;  // live Responder copies for request_id_
  bool keep_alive_ = true;
  bool http10_keep_alive_ = false;     // answer with an explicit "Connection: keep-alive"
  std::uint64_t header_deadline_ = 0;  // loop time; 0 when no headers are pending
  std::uint64_t wanted_deadline_ = 0;  // loop time the request timer should expire (kReading)
  std::uint64_t timer_due_ = 0;        // loop time the running timer expires; 0 when stopped
};

}  // namespace raftkv::http
