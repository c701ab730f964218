// The fault injector of the chaos phase. At random intervals it picks one
// action, weighted by the seed's scenario:
//   heal            remove every cut
//   split           symmetric partition: a random minority against the rest
//   isolate leader  cut the current leader off both ways (the stale-leader
//                   schedule that stale reads need)
//   one-way         cut a few random directed links (asymmetric partitions)
//   crash           crash a random member; it restarts after a short or a
//                   long downtime
//   crash leader    the same, aimed at the leader (figure 8 needs leaders
//                   to die with half-replicated entries)
//   slow disk       a member's writes become 20x slower for a while, so its
//                   messages race far ahead of its durability
// Crashes right after a granted vote are triggered by Member itself.
#pragma once

#include <memory>
#include <vector>

#include "member.h"
#include "world.h"

namespace raftkv::sim {

class Nemesis {
 public:
  Nemesis(World& world, std::vector<std::unique_ptr<Member>>& members);

  void start();
  // One action, then schedules the next (during the chaos phase only).
  void act();
  // End of chaos: heal the network, restart everyone, calm the disks.
  void heal_all();
  // Cuts `m` off from everyone (both ways), healing other cuts.
  void isolate(Member* m);

 private:
  void split();
  void isolate_leader();
  void one_way();
  void crash(Member* m);
  void slow_disk();
  Member* leader();

  World& world_;
  std::vector<std::unique_ptr<Member>>& members_;
};

}  // namespace raftkv::sim
