// One simulated run: a cluster of members, the workload and the nemesis,
// driven event by event off the virtual clock.
//
// Phases: the chaos phase lasts `steps` events; then everything is healed
// (network, crashed members, slow disks) and the liveness phase requires a
// leader and a committed probe within liveness_bound_ticks() ticks.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "member.h"
#include "nemesis.h"
#include "workload.h"
#include "world.h"

namespace raftkv::sim {

struct RunResult {
  std::optional<Violation> violation;
  std::uint64_t step = 0;  // event number of the violation
  Time time = 0;
  Stats stats;
};

// The liveness bound, in ticks after the heal: up to 2E ticks for followers
// to notice a dead or stale leader, then each election round lasts < 2E ticks
// (randomised timeouts), and with pre-vote and check-quorum a round can be
// refused by members that still heard a leader recently. 20E allows several
// split votes and a re-proposed probe; the largest delay seen over a run is
// printed in the summary (see docs/simulation.md).
int liveness_bound_ticks(const Scenario& s);

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
  bool finished() const;

  World world_;
  std::vector<std::unique_ptr<Member>> members_;
  Workload workload_;
  Nemesis nemesis_;
  Time healed_at_ = 0;
  Time deadline_ = 0;
};

}  // namespace raftkv::sim
