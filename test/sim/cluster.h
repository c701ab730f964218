// One simulated run: a cluster of members, the workload and the nemesis,
// driven event by event off the virtual clock.
//
// Phases: the chaos phase lasts `steps` events; then everything is healed
// (network, crashed members, slow disks) and the liveness phase requires a
// leader and a committed probe within liveness_bound_ticks() ticks of the
// moment the disks have completed the writes queued before the heal; then
// the catch-up phase requires every member, however far behind, to apply
// the probe within catch_up_bound_ticks() of its commit (from the log, or
// through a snapshot).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "member.h"
#include "membership.h"
#include "nemesis.h"
#include "snapshot_transfer.h"
#include "workload.h"
#include "world.h"

namespace raftkv::sim {

struct RunResult {
  std::optional<Violation> violation;
  std::uint64_t step = 0;  // event number of the violation
  Time time = 0;
  Stats stats;
};

// The liveness bound, in ticks after the heal, given `backlog` entries that
// some log holds beyond the commit point (the probe queues behind them):
//   - 20 E for the election: up to 2E ticks for followers to notice a dead or
//     stale leader, then rounds of < 2E ticks each (randomised timeouts),
//     where a round may fail on a split vote, on pre-vote or check-quorum
//     refusals, or on a candidate whose log is behind; 20E leaves room for
//     several failed rounds and a re-proposed probe;
//   - plus one worst-case round trip (2 x max network delay + max disk
//     write) per backlog entry, as when AppendEntries carry one entry each
//     and only one may be in flight.
// The slowest recovery seen is printed in the summary (docs/simulation.md).
std::uint64_t liveness_bound_ticks(const Scenario& s, Index backlog);

// The catch-up bound, in ticks after the probe committed at `probe_index`,
// given the largest `lag` of a member's applied index behind it: 20 E for
// leadership changes, one worst-case round trip per lagging entry (as
// above), and two transfers of a snapshot as large as the log (one may be
// overtaken by a newer snapshot) with its write on a disk.
std::uint64_t catch_up_bound_ticks(const Scenario& s, Index probe_index, Index lag);

class Cluster {
 public:
  explicit Cluster(const Scenario& scenario);
  RunResult run();

 private:
  void dispatch(const Event& e);
  void on_tick(const Event& e);
  void on_deliver(const Event& e);
  void on_crash(const Event& e);
  void on_restart(const Event& e);
  void heal();
  void retire_removed_members();
  void start_catch_up();
  bool caught_up() const;
  bool finished() const;
  void fail_liveness();

  World world_;
  std::vector<std::unique_ptr<Member>> members_;
  Workload workload_;
  Nemesis nemesis_;
  SnapshotTransfers transfers_;
  MembershipNemesis membership_;
  bool catching_up_ = false;  // the probe committed: waiting for every member
  std::set<NodeId> outside_;  // members not in the configuration: not waited for
  std::set<NodeId> retired_;  // removed members kept down after the heal
  Time probe_committed_at_ = 0;
  Time healed_at_ = 0;
  Time live_from_ = 0;  // the heal, or when the last queued write completes
  Time deadline_ = 0;
  std::uint64_t bound_ticks_ = 0;
};

}  // namespace raftkv::sim
