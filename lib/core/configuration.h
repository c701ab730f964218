// Cluster membership as the core sees it: voters, whose majority decides
// elections, commitment and ReadIndex rounds, and learners, which receive the
// log but never count. Every quorum computation goes through here so that
// membership changes (ENTRY_CONF_CHANGE, thesis ch. 4: one server at a
// time, or joint consensus) only have to swap the Configuration.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "core/types.h"

namespace raftkv::core {

enum class VoteResult { kPending, kWon, kLost };

class Configuration {
 public:
  Configuration() = default;
  Configuration(std::vector<NodeId> voters, std::vector<NodeId> learners);

  const std::vector<NodeId>& voters() const { return voters_; }
  const std::vector<NodeId>& learners() const { return learners_; }
  bool is_voter(NodeId id) const;
  bool is_member(NodeId id) const;
  // Votes needed for a majority of the voters.
  std::size_t quorum() const { return voters_.size() / 2 + 1; }

  // Given one value per voter (in voters() order), the largest value that a
  // majority has reached: the commit index for match indexes (§5.3), the
  // acknowledged round for ReadIndex rounds.
  std::uint64_t quorum_value(std::vector<std::uint64_t> values) const;

  // The outcome of an election given the answers so far (absent = pending).
  VoteResult tally(const std::map<NodeId, bool>& votes) const;

 private:
  std::vector<NodeId> voters_;    // sorted, unique
  std::vector<NodeId> learners_;  // sorted, unique, disjoint from voters_
};

}  // namespace raftkv::core
