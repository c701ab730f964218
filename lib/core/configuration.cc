#include "core/configuration.h"

#include <algorithm>
#include <functional>

namespace raftkv::core {
namespace {

std::vector<NodeId> sorted_unique(std::vector<NodeId> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace

Configuration::Configuration(std::vector<NodeId> voters, std::vector<NodeId> learners)
    : voters_(sorted_unique(std::move(voters))), learners_(sorted_unique(std::move(learners))) {
  std::erase_if(learners_, [this](NodeId id) { return is_voter(id); });
}

bool Configuration::is_voter(NodeId id) const {
  return std::binary_search(voters_.begin(), voters_.end(), id);
}

bool Configuration::is_member(NodeId id) const {
  return is_voter(id) || std::binary_search(learners_.begin(), learners_.end(), id);
}

std::uint64_t Configuration::quorum_value(std::vector<std::uint64_t> values) const {
  if (values.empty()) return 0;
  // The quorum()-th largest value: a majority holds at least this much.
  const auto nth = values.begin() + static_cast<std::ptrdiff_t>(quorum() - 1);
  std::nth_element(values.begin(), nth, values.end(), std::greater<>());
  return *nth;
}

VoteResult Configuration::tally(const std::map<NodeId, bool>& votes) const {
  std::size_t granted = 0;
  std::size_t rejected = 0;
  for (NodeId voter : voters_) {
    auto it = votes.find(voter);
    if (it == votes.end()) continue;
    (it->second ? granted : rejected)++;
  }
  if (granted >= quorum()) return VoteResult::kWon;
  if (rejected > voters_.size() - quorum()) return VoteResult::kLost;
  return VoteResult::kPending;
}

}  // namespace raftkv::core
