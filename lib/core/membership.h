// Membership changes, one server at a time (thesis §4.1, §4.4).
//
// The cluster's configuration is a pb::ClusterConfig (ids, addresses, and
// which members are learners). It changes only through ENTRY_CONF_CHANGE
// entries, each holding one pb::ConfChange (ADD_LEARNER, PROMOTE, REMOVE)
// and the whole configuration it leads to. A configuration takes effect on
// a member as soon as its entry is in that member's log, appended or
// received, not when it commits; a truncation that removes the entry rolls
// the member back to the configuration before it. That is why every member
// keeps ConfigHistory: the configuration as of every change still in its
// log, above a base (the bootstrap configuration, or the one a snapshot
// carries).
//
// Two configurations one change apart always share a voter in any two of
// their majorities, so no joint consensus is needed as long as at most one
// change is in flight: the leader proposes a change only when the previous
// one is committed and once it has committed an entry of its own term (the
// fix to the thesis' single-server algorithm, raft-dev, 2015).
//
// This file holds the pure functions on configurations and the history; the
// core's use of them (proposals, progress of new and removed members,
// promotion of learners, a removed leader stepping down) is in
// reconfigure.cc.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/configuration.h"
#include "core/types.h"
#include "raft.pb.h"

namespace raftkv::core {

// The member `id` of `config`, or nullptr.
const pb::Member* find_member(const pb::ClusterConfig& config, NodeId id);

// A configuration of voters without addresses (Options::voters).
pb::ClusterConfig config_of_voters(const std::vector<NodeId>& voters);

// The quorum view of a configuration: its voters and its learners.
Configuration quorum_view(const pb::ClusterConfig& config);

// Whether `change` may be applied to `config`: empty when it may, else a
// one-line reason (adding an id in use, promoting a non-learner, removing an
// unknown id or the last voter).
std::string check_change(const pb::ClusterConfig& config, const pb::ConfChange& change);

// `config` with `change` applied (members stay ordered by id). An added
// member is always a learner; a change that check_change() refuses leaves
// the configuration as it is.
pb::ClusterConfig apply_change(pb::ClusterConfig config, const pb::ConfChange& change);

// The configuration an ENTRY_CONF_CHANGE entry leads to, `before` being the
// one in force before it: the configuration it carries, else its change
// applied to `before`. An entry that does not decode changes nothing.
pb::ClusterConfig config_after(const pb::ClusterConfig& before, const pb::Entry& entry);

// The configurations a member's log stands for: a base as of base_index
// (the compaction point; 0 without a snapshot) and one configuration per
// ENTRY_CONF_CHANGE entry still in the log above it.
class ConfigHistory {
 public:
  ConfigHistory() = default;

  // Forgets everything: `base` is in force as of `base_index`.
  void reset(pb::ClusterConfig base, Index base_index);
  // The entry at `index` (above every recorded change) sets `config`.
  void append(Index index, pb::ClusterConfig config);
  // Forgets the changes above `index` (a truncated log suffix). Returns
  // whether the current configuration changed.
  bool truncate_after(Index index);
  // Folds the changes at or below `index` into the base (log compaction).
  void compact(Index index);

  // As of the last entry of the log.
  const pb::ClusterConfig& current() const;
  // As of `index`; the base for an index at or below base_index().
  const pb::ClusterConfig& at(Index index) const;
  Index base_index() const { return base_index_; }
  // The index of the newest change in the log, base_index() if none.
  Index last_change_index() const;
  // Every member of the configuration as of `index` or of any later one:
  // whom a leader must keep replicating to while changes above `index` are
  // not committed (a member being removed still needs its REMOVE entry).
  std::vector<NodeId> members_since(Index index) const;
  // Whether `id` is a voter in the configuration as of `index` or in any
  // later one.
  bool voter_since(Index index, NodeId id) const;

 private:
  pb::ClusterConfig base_;
  Index base_index_ = 0;
  std::vector<std::pair<Index, pb::ClusterConfig>> changes_;  // ascending index
};

}  // namespace raftkv::core
