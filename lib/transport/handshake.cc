#include "transport/handshake.h"

namespace raftkv::transport {
namespace {

HandshakeCheck refuse(std::string reason, PeerRejection rejection = PeerRejection::kBadHandshake) {
  return {false, core::kNoNode, {}, std::move(reason), rejection};
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
                               const std::function<bool(core::NodeId)>& is_member) {
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
  if (handshake.from() == self || !is_member(handshake.from())) {
    HandshakeCheck check =
        refuse("handshake from unknown member " + std::to_string(handshake.from()),
               PeerRejection::kUnknownMember);
    check.from = handshake.from();
    return check;
  }
  return {true, handshake.from(), handshake.address(), {}};
}

}  // namespace raftkv::transport
