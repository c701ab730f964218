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

// What an acceptor with a cluster secret checks the caller's proof against.
struct HandshakeAuth {
  std::string_view secret;
  std::string_view acceptor_nonce;  // the nonce of our AuthChallenge
};

// Decodes and validates a handshake payload received by `self`: magic,
// version, `to` == self, with `auth` a proof of the secret over our nonce
// (peer_auth.h), and `from` a member (is_member) other than self. Without
// `auth` a proof is not looked at: a member without a secret never sends a
// challenge, so a caller with one never reaches it (it waits for one).
// When ok and `auth` is set, *handshake_out (if given) receives the
// decoded handshake, for the AuthAck.
HandshakeCheck check_handshake(std::string_view payload, core::NodeId self,
                               const std::function<bool(core::NodeId)>& is_member,
                               const HandshakeAuth* auth = nullptr,
                               pb::Handshake* handshake_out = nullptr);

}  // namespace raftkv::transport
