#include "transport/handshake.h"

#include <utility>

#include "transport/peer_auth.h"

namespace raftkv::transport {
namespace {

HandshakeCheck refuse(std::string reason, PeerRejection rejection = PeerRejection::kBadHandshake) {
  return {false, core::kNoNode, {}, std::move(reason), rejection};
}

// Checked before membership: a stranger without the secret is refused as
// such, whatever id it claims (even a removed member's, which is otherwise
// refused quietly).
HandshakeCheck check_proof(const pb::Handshake& handshake, const HandshakeAuth& auth) {
  if (handshake.auth().empty()) {
    return refuse("handshake from " + std::to_string(handshake.from()) +
                      " carries no cluster-secret proof (has it no --cluster-secret-file?)",
                  PeerRejection::kAuthMissing);
  }
  if (handshake.nonce().size() != kAuthNonceBytes ||
      !proof_matches(handshake_proof(auth.secret, auth.acceptor_nonce, handshake),
                     handshake.auth())) {
    return refuse("handshake from " + std::to_string(handshake.from()) +
                      ": wrong cluster-secret proof (a different secret?)",
                  PeerRejection::kAuthFailed);
  }
  return {true, handshake.from(), {}, {}};
}

}  // namespace

pb::Handshake make_handshake(core::NodeId from, core::NodeId to, std::string_view address) {
  pb::Handshake handshake;
  handshake.set_magic(kHandshakeMagic);
  handshake.set_version(kProtocolVersion);
  handshake.set_from(from);
  handshake.set_to(to);
  handshake.set_address(std::string(address));
  return handshake;
}

HandshakeCheck check_handshake(std::string_view payload, core::NodeId self,
                               const std::function<bool(core::NodeId)>& is_member,
                               const HandshakeAuth* auth, pb::Handshake* handshake_out) {
  pb::Handshake handshake;
  if (!handshake.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return refuse("undecodable handshake");
  }
  if (handshake.magic() != kHandshakeMagic) return refuse("bad handshake magic");
  if (handshake.version() != kProtocolVersion) {
    return refuse("unsupported protocol version " + std::to_string(handshake.version()));
  }
  if (handshake.to() != self) {
    return refuse("handshake addressed to member " + std::to_string(handshake.to()) + ", this is " +
                  std::to_string(self));
  }
  if (auth != nullptr) {
    if (HandshakeCheck proof = check_proof(handshake, *auth); !proof.ok) return proof;
  }
  if (handshake.from() == self || !is_member(handshake.from())) {
    HandshakeCheck check =
        refuse("handshake from unknown member " + std::to_string(handshake.from()),
               PeerRejection::kUnknownMember);
    check.from = handshake.from();
    return check;
  }
  HandshakeCheck check{true, handshake.from(), handshake.address(), {}};
  if (handshake_out != nullptr) *handshake_out = std::move(handshake);
  return check;
}

}  // namespace raftkv::transport
