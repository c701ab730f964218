// Which forwarded Propose batches a member has already decided (appended or
// refused), so that a copy the network delivers again gets no second,
// different decision: a refusal tells the client "certainly not appended",
// which must stay true. A batch is named by the forwarder's session (drawn
// once per incarnation) and a sequence number; an anti-replay window (as in
// IPsec, RFC 4303 §3.4.3) accepts the last 64 numbers in any order.
#pragma once

#include <cstdint>
#include <map>
#include <utility>

#include "core/types.h"

namespace raftkv::core {

class ProposalFilter {
 public:
  // True the first time (from, session, seq) is seen; false for a copy of
  // one already seen, or one too old (or from too many sessions) to tell.
  bool first_time(NodeId from, std::uint64_t session, std::uint64_t seq);
  void clear() { windows_.clear(); }

 private:
  struct Window {
    std::uint64_t highest = 0;
    std::uint64_t seen = 0;  // bit i: highest - i was seen
  };
  std::map<std::pair<NodeId, std::uint64_t>, Window> windows_;
};

}  // namespace raftkv::core
