#include "transport/peer_rejection.h"

#include <iterator>

namespace raftkv::transport {

const char* peer_rejection_name(PeerRejection reason) {
  // Indexed by the enum: keep the two lists in the same order.
  static constexpr const char* kNames[] = {
      "bad_frame",        "oversized_frame", "undecodable",       "bad_handshake",
      "unknown_member",   "removed_member",  "handshake_timeout", "from_to_mismatch",
      "connection_limit", "auth_missing",    "auth_failed",
  };
  static_assert(std::size(kNames) == kPeerRejectionCount, "a name for every PeerRejection");
  const auto index = static_cast<std::size_t>(reason);
  return index < kPeerRejectionCount ? kNames[index] : "unknown";
}

}  // namespace raftkv::transport
