// Membership changes in the simulator.
//
// In seeds with `Scenario::membership`, the cluster has `spares` extra
// members (ids from `members` on) that start with an empty disk, joining
// (core::Options::joining): they take no part until added. The membership
// nemesis acts every `membership_gap` or so during the chaos phase and asks
// the leader for one change:
//   add      ADD_LEARNER of a member outside the configuration (a spare, or
//            a member removed earlier, which comes back with its old disk);
//            the leader's core promotes it by itself once it caught up
//   remove   REMOVE of a learner or a voter, the leader itself included,
//            never the last voter (the core refuses it anyway)
// The choice leans toward the bootstrap size, so that seeds go on to commit
// during the chaos (a majority of the voters is usually alive). Crashes and
// partitions hit spares and removed members as well.
//
// Checked on top of the usual properties (checker.h; Election Safety spans
// configurations since it is about terms):
//   - Configuration follows the log: the configuration a core reports is the
//     bootstrap one with every ENTRY_CONF_CHANGE of its log applied in order
//     (a configuration is in force from append, and rolled back when its
//     entry is truncated);
//   - Driver contract (config): every change is reported in Ready::config.
// Liveness after the heal needs nothing new: every member restarts, so every
// voter of whatever configuration is in force is up.
#pragma once

#include <memory>
#include <vector>

#include "member.h"
#include "world.h"

namespace raftkv::sim {

class MembershipNemesis {
 public:
  MembershipNemesis(World& world, std::vector<std::unique_ptr<Member>>& members);

  void start();
  // One change, then schedules the next (during the chaos phase only).
  void act();

 private:
  Member* leader();
  void add(Member& leader, const std::vector<NodeId>& outside);
  void remove(Member& leader, const std::vector<NodeId>& ids);
  void propose(Member& leader, pb::ConfChange change);
  void schedule();

  World& world_;
  std::vector<std::unique_ptr<Member>>& members_;
  std::uint64_t next_request_ = 0;
};

// The configuration a log stands for: `base` (as of log.base()), then every
// ENTRY_CONF_CHANGE entry of `log` in order.
pb::ClusterConfig config_of_log(const pb::ClusterConfig& base, const ShadowLog& log);

// The configuration as of committed index `upto`: the members that must
// catch up in the liveness phase (spares never added, removed members get
// no log).
pb::ClusterConfig committed_config(const Scenario& s, const Checker& checker, Index upto);

}  // namespace raftkv::sim
