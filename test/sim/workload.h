// The clients: random proposals with unique payloads and random ReadIndex
// requests with unique ids, each through a random live member (a follower
// forwards them), and occasional leadership transfers. After the heal, the
// liveness probe proposes "probe-N" commands until one commits.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "member.h"
#include "world.h"

namespace raftkv::sim {

class Workload {
 public:
  Workload(World& world, std::vector<std::unique_ptr<Member>>& members);

  void start();
  void propose();
  void read();
  void transfer();
  // One liveness-probe step (once per tick after the heal).
  void probe();

 private:
  Member* random_live_member();
  // The live member that believes it leads the highest term, if any.
  Member* leader();
  Time gap(Time mean);

  World& world_;
  std::vector<std::unique_ptr<Member>>& members_;
  std::uint64_t next_command_ = 0;
  std::uint64_t next_read_ = 0;
  std::uint64_t next_probe_ = 0;
  Time probe_proposed_at_ = 0;
};

}  // namespace raftkv::sim
