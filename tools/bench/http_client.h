// One keep-alive HTTP/1.1 client connection on a libuv loop, with up to
// `depth` pipelined requests in flight. The connection owns a ring of request
// slots (buffer + bookkeeping) and one read buffer, all allocated up front,
// so sending and receiving do not allocate once the buffers have grown to
// the request size.
//
// The owner (a Listener) fills the next slot's buffer, calls send(), and gets
// on_response() once per answer in send order. On any failure the connection
// reports on_broken() with the number of requests lost, closes its socket,
// and later reports on_closed(); connect() may then be called again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>
#include <uv.h>

#include "response_parser.h"

namespace raftkv::bench {

enum class Failure { kConnect, kClosed, kTimeout, kProtocol };

// What the owner wants back with the response; opaque to the connection.
struct RequestInfo {
  std::uint64_t start_ns = 0;  // latency origin: send time, or intended time at a fixed rate
  std::uint64_t sent_ns = 0;   // for timeouts
  std::uint64_t key = 0;
  std::uint64_t seq = 0;
  std::uint8_t op = 0;
};

class Connection;

class ConnectionListener {
 public:
  virtual ~ConnectionListener() = default;
  virtual void on_connected(Connection& connection) = 0;
  virtual void on_response(Connection& connection, int status, const RequestInfo& info,
                           std::string_view body) = 0;
  virtual void on_broken(Connection& connection, Failure why, std::size_t lost) = 0;
  virtual void on_closed(Connection& connection) = 0;
};

class Connection {
 public:
  enum class State { kIdle, kConnecting, kOpen, kClosing };

  Connection(uv_loop_t* loop, const sockaddr_storage& address, std::size_t depth,
             ConnectionListener* listener);
  // Must be idle: close() and let the loop run until on_closed().
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void connect();
  // A clean close: in-flight requests are dropped without an on_broken().
  void close();
  // Reports on_broken(why) and closes.
  void fail(Failure why);

  State state() const { return state_; }
  std::size_t in_flight() const { return count_; }
  std::size_t depth() const { return slots_.size(); }
  bool can_send() const { return state_ == State::kOpen && !draining_ && count_ < slots_.size(); }
  const RequestInfo& oldest() const { return slots_[head_].info; }
  const char* last_error() const { return last_error_; }
  std::uint64_t connect_started_ns() const { return connect_started_ns_; }
  void set_capture_body(bool on) { parser_.set_capture_body(on); }

  // The next slot's buffer and info, to fill before send(); requires can_send().
  std::string& next_buffer() { return slots_[tail()].request; }
  RequestInfo& next_info() { return slots_[tail()].info; }
  void send();

  std::uint64_t id = 0;  // owner's label

 private:
  struct Slot {
    std::string request;
    RequestInfo info;
    uv_write_t write{};
  };
  struct Socket;

  std::size_t tail() const { return (head_ + count_) % slots_.size(); }
  void handle_connect(int status);
  void handle_read(ssize_t nread);
  void handle_response(int status, std::string_view body);
  void handle_write(int status);
  void close_socket();

  static void on_connect_cb(uv_connect_t* request, int status);
  static void on_alloc_cb(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
  static void on_read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void on_write_cb(uv_write_t* request, int status);
  static void on_close_cb(uv_handle_t* handle);
  static void on_response_cb(void* context, int status, std::string_view body);

  uv_loop_t* loop_;
  sockaddr_storage address_;
  ConnectionListener* listener_;
  State state_ = State::kIdle;
  Socket* socket_ = nullptr;  // owned; freed by the close callback
  std::vector<Slot> slots_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::unique_ptr<char[]> read_buffer_;
  ResponseParser parser_;
  const char* last_error_ = "";
  std::uint64_t connect_started_ns_ = 0;
  bool draining_ = false;  // the server said "Connection: close"
};

}  // namespace raftkv::bench
