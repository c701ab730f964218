// The first frame on every peer connection: the caller names itself and the
// member it meant to reach (pb::Handshake). The acceptor checks it before
// any pb::Message is decoded from that connection.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/types.h"
#include "raft.pb.h"
#include "transport/peer_rejection.h"

namespace raftkv::transport {

inline constexpr std::uint32_t kHandshakeMagic = 0x52414654;  // "RAFT"
inline constexpr std::uint32_t kProtocolVersion = 1;

// `address`: the caller's listening peer address ("" if not listening).
pb::Handshake make_handshake(core::NodeId from, core::NodeId to, std::string_view address = {});

struct HandshakeCheck {
  bool ok = false;
  core::NodeId from = core::kNoNode;  // the caller, when ok or refused as unknown
  std::string address;                // the caller's peer address, as it claims
  std::string reason;                 // why it was refused, when !ok
  PeerRejection rejection = PeerRejection::kBadHandshake;  // its /metrics reason, when !ok
};

// Decodes and validates a handshake payload received by `self`: magic,
// version, `to` == self, and `from` a member (is_member) other than self.
HandshakeCheck check_handshake(std::string_view payload, core::NodeId self,
                               const std::function<bool(core::NodeId)>& is_member);

}  // namespace raftkv::transport
