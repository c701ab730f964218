// Test harness for the transport: one uv loop per test, run until a
// condition holds or a deadline timer fires (no sleeps), free loopback
// ports, raw TCP clients and listeners, transports that record what they
// receive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "transport/transport.h"

namespace raftkv::transport::test {

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  uv_loop_t* get() { return &loop_; }
  // Runs the loop until `done()` holds or `timeout_ms` passed; returns done().
  bool run_until(const std::function<bool()>& done, std::uint64_t timeout_ms = 5000);
  // Runs the loop for `ms` milliseconds.
  void run_for(std::uint64_t ms);
  // uv_loop_close() after draining; 0 means every handle was closed.
  int close();

 private:
  uv_loop_t loop_;
  bool closed_ = false;
};

// A loopback port nobody listens on right now (bound to port 0, then released).
std::uint16_t free_port();
util::Address loopback(std::uint16_t port);

// Messages.
pb::Message heartbeat(core::NodeId to, std::uint64_t term);
pb::Message entries(core::NodeId to, std::uint64_t term, std::size_t bytes);
pb::Message vote(core::NodeId to, std::uint64_t term);
// A whole frame (length prefix + payload), as a peer would send it.
std::string frame_of(const google::protobuf::MessageLite& message);

struct Received {
  core::NodeId from;
  std::uint64_t term;
  bool has_entries;
};

// A transport that records what it receives.
struct Node {
  Node(Loop& loop, core::NodeId id, std::vector<Peer> peers, std::uint16_t port,
       TransportOptions options = {});
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Closes the transport and runs the loop until its done callback ran.
  bool close(Loop& loop);

  core::NodeId id;
  std::vector<Received> received;
  std::function<void(const pb::Message&)> on_receive;  // optional extra hook
  std::unique_ptr<Transport> transport;
  bool closed = false;
};

// Sends a heartbeat from `from` to `to` and runs the loop until it arrived,
// then forgets it: the connection is up (a peer not yet reached gets a small
// queue only) and `to` has received nothing yet.
bool connect_first(Loop& loop, Node& from, Node& to);

// A raw TCP client: connects, writes `bytes`, then reads until the server
// closes the connection.
class RawClient {
 public:
  RawClient(Loop& loop, std::uint16_t port, std::string bytes);
  ~RawClient();
  bool connected() const { return connected_; }
  bool closed_by_server() const { return closed_by_server_; }
  void close_and_wait(Loop& loop);

 private:
  static void connect_cb(uv_connect_t* request, int status);
  static void read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void closed_cb(uv_handle_t* handle);

  uv_tcp_t tcp_;
  uv_connect_t connect_;
  uv_write_t write_;
  std::string bytes_;
  char buffer_[4096];
  bool connected_ = false;
  bool closed_by_server_ = false;
  bool closing_ = false;
  bool handle_closed_ = false;
};

// A TCP listener that accepts connections and never reads from them: a
// peer that is alive but stuck.
class StuckListener {
 public:
  StuckListener(Loop& loop, std::uint16_t port);
  ~StuckListener();
  std::size_t accepted() const { return accepted_.size(); }
  void close_and_wait(Loop& loop);

 private:
  static void connection_cb(uv_stream_t* server, int status);
  static void closed_cb(uv_handle_t* handle);

  uv_tcp_t server_;
  std::vector<uv_tcp_t*> accepted_;
  std::size_t open_handles_ = 0;
};

// Calls `tick` every `period_ms` until stopped.
class Ticker {
 public:
  Ticker(Loop& loop, std::uint64_t period_ms, std::function<void()> tick);
  ~Ticker();
  void stop_and_wait(Loop& loop);

 private:
  uv_timer_t timer_;
  std::function<void()> tick_;
  bool closed_ = false;
};

}  // namespace raftkv::transport::test
