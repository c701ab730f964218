#include "core/proposal_filter.h"

namespace raftkv::core {
namespace {

constexpr std::uint64_t kWindow = 64;
// A follower restarting this often within one leader's term is not plausible;
// past it, new sessions are ignored (never refused): memory stays bounded.
constexpr std::size_t kMaxSessions = 1024;

}  // namespace

bool ProposalFilter::first_time(NodeId from, std::uint64_t session, std::uint64_t seq) {
  const auto key = std::make_pair(from, session);
  auto it = windows_.find(key);
  if (it == windows_.end()) {
    if (windows_.size() >= kMaxSessions) return false;
    it = windows_.emplace(key, Window{}).first;
  }
  Window& w = it->second;
  if (seq > w.highest) {
    const std::uint64_t shift = seq - w.highest;
    w.seen = shift >= kWindow ? 0 : w.seen << shift;
    w.seen |= 1;
    w.highest = seq;
    return true;
  }
  const std::uint64_t offset = w.highest - seq;
  if (offset >= kWindow) return false;
  const std::uint64_t bit = std::uint64_t{1} << offset;
  if (w.seen & bit) return false;
  w.seen |= bit;
  return true;
}

}  // namespace raftkv::core
