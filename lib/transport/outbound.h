// The sending side of one peer: its outbound TCP connection, its two-lane
// queue and its reconnect backoff.
//
// Happy path:
//   idle --first enqueue--> connecting --connect ok--> open
//   [with a cluster secret: connected --AuthChallenge read, Handshake with
//   our proof written, AuthAck with the peer's proof read and right--> open;
//   a wrong or missing answer, EOF, or no answer within
//   2 x handshake_timeout_ms fails the connection like any other failure,
//   with a WARN line (ConnectorAuth, docs/peer-protocol.md)]
//   open: write the Handshake frame first, then the queued frames, control
//   lane before data lane, several frames per writev, only while libuv's
//   write queue is below socket_backlog_bytes: uv_try_write first, only
//   what the socket does not take at once through uv_write (each completed
//   uv_write costs an epoll_ctl). Each completed uv_write pumps again. The
//   handshake's completion resets the backoff.
// Failure modes:
//   connect error or connect timeout, read EOF/error (the peer never writes
//   to this connection, so any read result but data means it is gone), write
//   error --> close the socket, drop every queued message (counted: Raft
//   resends fresher ones), back off, reconnect. In-flight writes come back
//   UV_ECANCELED and are counted as dropped. Logged at info on a state change
//   (connected / lost / unreachable), at debug for repeated failures, so a
//   dead peer does not flood the log.
//   Queue over its bound --> enqueue() refuses the message (a drop).
//   close() --> closes whatever exists (socket, timer) from any state; once
//   the last of its handles' close callbacks ran, `released(this)` tells the
//   owner that no libuv callback refers to the object any more.
//   set_address() --> a new address: the connection (or attempt) is closed,
//   the queue dropped, and the new address dialled at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include <uv.h>

#include "transport/frame_queue.h"
#include "transport/handle_tracker.h"
#include "transport/priority.h"
#include "transport/transport.h"

namespace raftkv::transport {

class Outbound {
 public:
  struct Hooks {
    // Asks the transport to call flush() before the loop next polls for
    // I/O, so that all messages sent in one loop iteration share a uv_write.
    std::function<void(Outbound*)> request_flush;
    // After close(), once no handle of this object is open: it may now be
    // destroyed (from inside this call: nothing touches it afterwards).
    std::function<void(Outbound*)> released;
  };

  // `self_address` is what our handshakes claim as our peer address.
  // `options`, `handles` and `self_address` must outlive this object.
  Outbound(uv_loop_t* loop, core::NodeId self, const std::string& self_address, Peer peer,
           const TransportOptions& options, HandleTracker* handles, Hooks hooks);
  ~Outbound();  // only once released
  Outbound(const Outbound&) = delete;
  Outbound& operator=(const Outbound&) = delete;

  // Queues `message` (from() already stamped) with `entries` spliced into
  // its AppendEntries (frame.h); false when refused.
  bool enqueue(const pb::Message& message, std::span<const core::SharedEntry> entries);
  // Hands queued frames to libuv as far as the socket backlog allows.
  void flush();
  // Closes socket and timer, drops the queue; idempotent.
  void close();
  // Redials at `address` if it differs (see the header comment).
  void set_address(util::Address address);

  void count_received() { ++received_messages_; }
  const Peer& peer() const { return peer_; }
  PeerMetrics metrics() const;

 private:
  enum class State { kIdle, kConnecting, kAuthenticating, kOpen, kBackoff, kClosed };
  struct Socket;      // one connection attempt; freed in its close callback
  struct WriteBatch;  // one uv_write and the frames it owns

  std::size_t queued_bytes() const { return pending_bytes_ + inflight_bytes_; }
  std::size_t limit_for(Lane lane) const;

  void connect();
  void on_connected(Socket* socket, int status);
  void on_read(Socket* socket, ssize_t nread);
  void on_auth_read(Socket* socket, ssize_t nread);
  void on_open();
  void fail_auth(const std::string& why);
  void on_timer();
  void fail(const char* operation, int status);
  bool log_info_now();  // rate limit of state-change lines
  void close_socket();
  void drop_pending();
  void handle_closed();  // a close callback of ours ran

  bool write_handshake(std::string frame);
  bool write_batch();
  bool submit(WriteBatch* batch);
  void on_written(WriteBatch* batch, int status);

  static void connect_cb(uv_connect_t* request, int status);
  static void alloc_cb(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
  static void read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void write_cb(uv_write_t* request, int status);
  static void timer_cb(uv_timer_t* timer);
  static void socket_closed_cb(uv_handle_t* handle);
  static void timer_closed_cb(uv_handle_t* handle);

  uv_loop_t* loop_;
  core::NodeId self_;
  const std::string& self_address_;
  Peer peer_;
  const TransportOptions& options_;
  HandleTracker* handles_;
  Hooks hooks_;
  int open_handles_ = 0;  // timer + sockets not yet through their close callback

  State state_ = State::kIdle;
  Socket* socket_ = nullptr;  // the current attempt; older ones may still be closing
  uv_timer_t timer_;          // connect timeout, then backoff
  bool timer_open_ = false;
  std::uint64_t backoff_ms_;
  bool reported_down_ = false;  // the peer was reported down since the last connect
  std::uint64_t info_window_start_ms_ = 0;
  unsigned info_lines_ = 0;  // info lines logged in the current window

  FrameQueue lanes_[2];  // encoded frames, indexed by Lane
  std::size_t pending_messages_ = 0;
  std::size_t pending_bytes_ = 0;   // in lanes_
  std::size_t inflight_bytes_ = 0;  // handed to uv_write, callback not yet run

  std::uint64_t sent_messages_ = 0;
  std::uint64_t sent_bytes_ = 0;
  std::uint64_t dropped_messages_ = 0;
  std::uint64_t reconnects_ = 0;
  std::uint64_t received_messages_ = 0;
};

}  // namespace raftkv::transport
