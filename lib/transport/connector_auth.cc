#include "transport/connector_auth.h"

#include <utility>

#include "transport/handshake.h"
#include "transport/peer_auth.h"

namespace raftkv::transport {

ConnectorAuth::ConnectorAuth(std::string_view secret, pb::Handshake handshake,
                             std::size_t max_frame_bytes)
    : secret_(secret),
      handshake_(std::move(handshake)),
      max_frame_bytes_(max_frame_bytes),
      decoder_(kMaxAcceptorFrameBytes) {}

ConnectorAuth::Step ConnectorAuth::next() {
  if (phase_ == Phase::kDone) return Step::kDone;
  if (phase_ == Phase::kFailed) return Step::kFailed;
  std::string_view payload;
  switch (decoder_.next(&payload)) {
    case FrameDecoder::Status::kNeedMore:
      return Step::kNeedMore;
    case FrameDecoder::Status::kError:
      return failed("bad frame during authentication: " + decoder_.error());
    case FrameDecoder::Status::kFrame:
      break;
  }
  return phase_ == Phase::kChallenge ? on_challenge(payload) : on_ack(payload);
}

ConnectorAuth::Step ConnectorAuth::on_challenge(std::string_view payload) {
  pb::AuthChallenge challenge;
  if (!challenge.ParseFromArray(payload.data(), static_cast<int>(payload.size())) ||
      challenge.magic() != kHandshakeMagic || challenge.version() != kProtocolVersion ||
      challenge.nonce().size() != kAuthNonceBytes) {
    return failed("no valid authentication challenge from the peer");
  }
  acceptor_nonce_ = challenge.nonce();
  handshake_.set_nonce(make_auth_nonce());
  handshake_.set_auth(handshake_proof(secret_, acceptor_nonce_, handshake_));
  handshake_frame_.clear();
  append_frame(handshake_, max_frame_bytes_, &handshake_frame_);
  phase_ = Phase::kAck;
  return Step::kSendHandshake;
}

ConnectorAuth::Step ConnectorAuth::on_ack(std::string_view payload) {
  pb::AuthAck ack;
  if (!ack.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return failed("undecodable authentication answer from the peer");
  }
  if (!proof_matches(ack_proof(secret_, acceptor_nonce_, handshake_), ack.auth())) {
    return failed("the peer's cluster-secret proof is wrong (a different secret?)");
  }
  phase_ = Phase::kDone;
  return Step::kDone;
}

ConnectorAuth::Step ConnectorAuth::failed(std::string error) {
  error_ = std::move(error);
  phase_ = Phase::kFailed;
  return Step::kFailed;
}

}  // namespace raftkv::transport
