// Why an inbound peer connection was closed for bad input: the `reason`
// label of /metrics' raftkv_peer_rejected_total.
#pragma once

#include <cstddef>
#include <cstdint>

#include "util/reason_counts.h"

namespace raftkv::transport {

enum class PeerRejection : std::uint8_t {
  kBadFrame,          // a frame length of 0
  kOversizedFrame,    // a frame length over the maximum
  kUndecodable,       // a frame that is not a pb::Message
  kBadHandshake,      // undecodable, bad magic or version, addressed to another member
  kUnknownMember,     // a handshake from an id not in the configuration, or from ourselves
  kRemovedMember,     // a handshake from a member removed from the configuration
  kHandshakeTimeout,  // no handshake in time
  kFromToMismatch,    // a Message whose from/to disagree with the handshake
  kConnectionLimit,   // too many connections awaiting their handshake
  kAuthMissing,       // with a cluster secret: a handshake without a proof
  kAuthFailed,        // with a cluster secret: a wrong proof (another secret, a replay)
  kCount,
};

inline constexpr std::size_t kPeerRejectionCount = static_cast<std::size_t>(PeerRejection::kCount);

// The label value: "bad_frame", "oversized_frame", ...
const char* peer_rejection_name(PeerRejection reason);

// One counter per reason.
using PeerRejectionCounts = util::ReasonCounts<PeerRejection, kPeerRejectionCount>;

}  // namespace raftkv::transport
