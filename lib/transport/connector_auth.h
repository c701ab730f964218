// The caller's side of the cluster-secret handshake on one outbound
// connection (docs/peer-protocol.md, "Cluster secret"):
//
//   wait for the acceptor's AuthChallenge --> kSendHandshake: write
//   handshake_frame() (our nonce and our proof over both nonces)
//   --> wait for its AuthAck --> kDone when its proof is right: the acceptor
//   holds the secret too, and our messages may follow.
//
// Anything else -- a bad frame, a wrong magic or nonce size, a wrong or
// missing proof -- is kFailed with a one-line error(); the connection must
// be closed. The acceptor writes nothing after its AuthAck, so whatever
// follows it is ignored by the caller (as on a connection without secret).
//
// Fed like FrameDecoder: read_space() to libuv's alloc_cb, commit() from its
// read_cb, then next() until kNeedMore.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "raft.pb.h"
#include "transport/frame.h"

namespace raftkv::transport {

class ConnectorAuth {
 public:
  enum class Step { kNeedMore, kSendHandshake, kDone, kFailed };
  // The acceptor's frames are tiny: a larger length prefix is refused
  // before anything is allocated for it.
  static constexpr std::size_t kMaxAcceptorFrameBytes = 256;

  // `secret` must outlive this object; `handshake` is ours, without nonce
  // and proof (make_handshake()).
  ConnectorAuth(std::string_view secret, pb::Handshake handshake, std::size_t max_frame_bytes);

  std::span<char> read_space() { return decoder_.read_space(); }
  void commit(std::size_t bytes) { decoder_.commit(bytes); }
  // Processes the buffered bytes up to the next step.
  Step next();

  // After kSendHandshake: the frame to write.
  const std::string& handshake_frame() const { return handshake_frame_; }
  // After kFailed: why.
  const std::string& error() const { return error_; }

 private:
  Step on_challenge(std::string_view payload);
  Step on_ack(std::string_view payload);
  Step failed(std::string error);

  enum class Phase { kChallenge, kAck, kDone, kFailed };

  std::string_view secret_;
  pb::Handshake handshake_;
  std::size_t max_frame_bytes_;
  FrameDecoder decoder_;
  Phase phase_ = Phase::kChallenge;
  std::string acceptor_nonce_;
  std::string handshake_frame_;
  std::string error_;
};

}  // namespace raftkv::transport
