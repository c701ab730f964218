// One accepted peer connection: the receiving side of a peer's outbound
// connection to us.
//
// Happy path:
//   accepted [with a cluster secret: write an AuthChallenge with a fresh
//   nonce] --handshake frame (valid, in time; with a secret: carrying a
//   proof over our nonce)--> identified as peer P [with a secret: write an
//   AuthAck proving that we hold the secret too]
//   identified: every frame is a pb::Message with from() == P and
//   to() == self, handed to InboundHost::deliver() in arrival order.
// Failure modes (all close this connection only):
//   protocol violation -- bad frame length, undecodable or invalid
//   handshake, unknown member, no handshake within handshake_timeout_ms,
//   undecodable message, message not from P or not to us --> one RKV_WARN
//   line with the remote address and reason, counted by
//   InboundHost::on_rejected() under its PeerRejection.
//   EOF or read error --> closed quietly (debug): peers come and go.
//   A handshake from a removed peer --> refused like an unknown member, but
//   logged at debug (it redials until it learns of its removal).
//   With a secret, a handshake without a proof or with a wrong one -->
//   refused (auth_missing / auth_failed); WARN lines rate-limited by the
//   transport's WarnLimiter, since such a peer redials all the time.
//   A newer connection from the same peer --> the transport closes this one
//   (the peer keeps one outbound connection, so this one is abandoned).
// The object frees itself once both its handles (socket, timer) are closed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <uv.h>

#include "core/types.h"
#include "raft.pb.h"
#include "transport/frame.h"
#include "transport/handle_tracker.h"
#include "transport/peer_rejection.h"
#include "transport/warn_limiter.h"

namespace raftkv::transport {

class Inbound;
struct HandshakeCheck;

// What an inbound connection needs from its transport.
class InboundHost {
 public:
  virtual ~InboundHost() = default;
  virtual core::NodeId self() const = 0;
  virtual bool is_peer(core::NodeId id) const = 0;
  // A former peer: its refused handshakes are expected (it may not know it
  // was removed and keeps redialling), so they are logged at debug only.
  virtual bool was_removed(core::NodeId id) const = 0;
  virtual void on_identified(Inbound* connection) = 0;
  virtual void on_rejected(PeerRejection reason) = 0;
  virtual void on_closing(Inbound* connection) = 0;  // forget the pointer
  virtual void deliver(pb::Message&& message) = 0;
};

class Inbound {
 public:
  struct Limits {
    std::size_t max_frame_bytes;
    std::uint64_t handshake_timeout_ms;
    // The cluster secret; empty: none (no challenge, proofs not checked).
    std::string_view secret;
    // Budget of WARN lines for refused proofs; required with a secret.
    WarnLimiter* auth_warnings = nullptr;
  };

  // Accepts a pending connection on `server`. Returns the connection, or
  // nullptr if it could not be accepted (it is then already closing). The
  // caller records the pointer, then calls start().
  static Inbound* accept(uv_loop_t* loop, uv_stream_t* server, InboundHost* host, Limits limits,
                         HandleTracker* handles);
  // Starts the handshake deadline and reading.
  void start();
  Inbound(const Inbound&) = delete;
  Inbound& operator=(const Inbound&) = delete;

  // Starts closing; idempotent; the object is freed later, by libuv callbacks.
  void close();
  // Closes after a protocol violation: logs `why`, counts a rejection.
  void reject(PeerRejection reason, std::string_view why);
  // The same, logged at debug: an expected refusal.
  void reject_quietly(PeerRejection reason, std::string_view why);

  bool identified() const { return peer_ != core::kNoNode; }
  core::NodeId peer() const { return peer_; }
  // The peer address the caller's handshake claims ("" if none).
  const std::string& claimed_address() const { return claimed_address_; }
  const std::string& remote() const { return remote_; }

 private:
  Inbound(InboundHost* host, Limits limits, HandleTracker* handles);
  ~Inbound() = default;

  void on_read(ssize_t nread);
  void process_frames();
  void on_handshake(std::string_view payload);
  void on_message(std::string_view payload);
  void refuse_handshake(const HandshakeCheck& check);
  // Writes one frame holding `message`; a failure shows up as a read error.
  void write_frame(const google::protobuf::MessageLite& message);

  static void alloc_cb(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
  static void read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void timer_cb(uv_timer_t* timer);
  static void closed_cb(uv_handle_t* handle);
  static void written_cb(uv_write_t* request, int status);

  InboundHost* host_;
  Limits limits_;
  HandleTracker* handles_;
  uv_tcp_t tcp_;
  uv_timer_t timer_;  // handshake deadline
  int open_handles_ = 0;
  bool closing_ = false;
  FrameDecoder decoder_;
  core::NodeId peer_ = core::kNoNode;
  std::string claimed_address_;
  std::string nonce_;  // of our AuthChallenge, with a secret
  std::string remote_ = "?";
};

}  // namespace raftkv::transport
