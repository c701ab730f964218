#include "core/types.h"

namespace raftkv::core {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "unknown";
}

std::string_view peer_mode_name(PeerMode mode) {
  switch (mode) {
    case PeerMode::kProbe:
      return "probe";
    case PeerMode::kReplicate:
      return "replicate";
    case PeerMode::kSnapshot:
      return "snapshot";
  }
  return "unknown";
}

}  // namespace raftkv::core
