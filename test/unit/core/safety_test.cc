// A randomized smoke test of the safety properties (Raft figure 3): at most
// one leader per term, and every member applies a prefix of the same
// sequence. The real fault-injection simulator lives in test/sim/; this one
// only guards the core's own invariants while it is being changed.
#include <catch2/catch.hpp>

#include "core/rng.h"
#include "helpers.h"

using namespace raftkv::core;
using namespace raftkv::core::test;
namespace pb = raftkv::pb;

namespace {

void run_random(std::uint64_t seed, bool prevote) {
  Rng rng(seed);
  const std::vector<NodeId> ids = {1, 2, 3, 4, 5};
  Cluster c(ids, [&](Options& o) {
    o.seed = seed * 10 + o.id;
    o.pre_vote = prevote;
    o.max_append_bytes = 64;
    o.max_inflight_messages = 3;
  });
  c.drop = [&rng](const pb::Message&) { return rng.below(10) == 0; };
  std::map<Term, NodeId> leaders;
  int proposals = 0;
  for (int step = 0; step < 400; ++step) {
    const NodeId who = ids[rng.below(ids.size())];
    switch (rng.below(20)) {
      case 0:
        c.isolate(who);
        break;
      case 1:
        c.heal();
        break;
      case 2:
        c.restart(who);
        break;
      case 3:
        c.core(who).read_index(static_cast<std::uint64_t>(step));
        break;
      case 4:
        c.core(who).transfer_leadership(ids[rng.below(ids.size())]);
        break;
      default:
        c.core(who).propose("p" + std::to_string(proposals++));
        break;
    }
    c.tick_all();
    require_one_leader_per_term(c, ids, leaders, seed);
  }
  c.heal();
  c.drop = nullptr;
  c.tick_all(60);
  // State machine safety: all applied sequences agree where they overlap.
  // (A restart replays from index 1, so compare each member's latest run.)
  const std::vector<pb::Entry> longest = longest_applied(c, ids);
  for (NodeId id : ids) {
    const auto& applied = c.member(id).applied;
    for (std::size_t i = 0; i < applied.size(); ++i) {
      INFO("seed " << seed << " member " << id << " position " << i);
      REQUIRE(applied[i].index() == i + 1);
      REQUIRE(applied[i].term() == longest[i].term());
      REQUIRE(applied[i].data() == longest[i].data());
    }
  }
  // Liveness after healing: everyone applied everything committed.
  const NodeId leader = c.leader();
  REQUIRE(leader != kNoNode);
  for (NodeId id : ids) CHECK(c.member(id).applied.size() == longest.size());
}

}  // namespace

TEST_CASE("random partitions, losses and restarts keep election and state machine safety") {
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    run_random(seed, true);
    run_random(seed, false);
  }
}
