// Basic vocabulary of the Raft core.
#pragma once

#include <cstdint>
#include <string_view>

namespace raftkv::core {

using NodeId = std::uint64_t;  // 0 is a valid member id; kNoNode means "nobody"
using Index = std::uint64_t;   // log index; the first entry has index 1
using Term = std::uint64_t;

inline constexpr NodeId kNoNode = ~NodeId{0};

enum class Role { kFollower, kPreCandidate, kCandidate, kLeader };

std::string_view role_name(Role role);

// How a leader replicates to one follower (see progress.h): probing for the
// point where the logs agree, streaming entries, or sending a snapshot.
enum class PeerMode { kProbe, kReplicate, kSnapshot };

// "probe", "replicate" or "snapshot".
std::string_view peer_mode_name(PeerMode mode);

}  // namespace raftkv::core
