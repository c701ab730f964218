#include "nemesis.h"

namespace raftkv::sim {

Nemesis::Nemesis(World& world, std::vector<std::unique_ptr<Member>>& members)
    : world_(world), members_(members) {}

void Nemesis::start() {
  world_.queue.after(world_.rng.between(1, 2 * world_.scenario.nemesis_gap), EventKind::kNemesis);
}

Member* Nemesis::leader() {
  Member* best = nullptr;
  for (auto& m : members_) {
    if (!m->up() || m->soft().role != core::Role::kLeader) continue;
    if (!best || m->soft().term > best->soft().term) best = m.get();
  }
  return best;
}

void Nemesis::act() {
  if (!world_.chaos) return;
  start();
  const Scenario& s = world_.scenario;
  int weights[] = {s.w_heal,  s.w_split,        s.w_isolate_leader, s.w_one_way,
                   s.w_crash, s.w_crash_leader, s.w_slow_disk};
  int total = 0;
  for (int w : weights) total += w;
  if (total == 0) return;
  int pick = static_cast<int>(world_.rng.below(static_cast<std::uint64_t>(total)));
  int action = 0;
  while (pick >= weights[action]) pick -= weights[action++];
  switch (action) {
    case 0:
      world_.log("nemesis: heal");
      world_.net.heal();
      break;
    case 1:
      split();
      break;
    case 2:
      isolate_leader();
      break;
    case 3:
      one_way();
      break;
    case 4:
      crash(members_[world_.rng.below(members_.size())].get());
      break;
    case 5:
      crash(leader());
      break;
    default:
      slow_disk();
      break;
  }
}

// A random minority (1 .. n/2 members) against the rest.
void Nemesis::split() {
  std::size_t n = members_.size();
  std::size_t size = world_.rng.between(1, n / 2);
  std::uint64_t group = 0;
  while (static_cast<std::size_t>(__builtin_popcountll(group)) < size) {
    group |= 1ULL << world_.rng.below(n);
  }
  world_.log("nemesis: split off group %#llx", ull(group));
  world_.net.heal();
  world_.net.split(group);
}

void Nemesis::isolate_leader() {
  isolate(leader());
}

void Nemesis::isolate(Member* m) {
  if (!world_.chaos || !m || !m->up()) return;
  world_.log("nemesis: isolate n%llu (%s)", ull(m->id()), core::role_name(m->soft().role).data());
  world_.net.heal();
  world_.net.split(1ULL << m->id());
}

void Nemesis::one_way() {
  std::size_t n = members_.size();
  std::size_t cuts = world_.rng.between(1, n);
  for (std::size_t k = 0; k < cuts; ++k) {
    std::size_t from = world_.rng.below(n);
    std::size_t to = world_.rng.below(n);
    if (from == to) continue;
    world_.log("nemesis: cut n%zu -> n%zu", from, to);
    world_.net.cut(from, to);
  }
}

// Half the crashes are blips (a restart within a few ticks, still inside the
// election that may be running); the others last up to a few timeouts.
void Nemesis::crash(Member* m) {
  if (!m || !m->up()) return;
  const Scenario& s = world_.scenario;
  Time downtime =
      world_.rng.chance(0.5)
          ? world_.rng.between(kMillisecond, 3 * s.tick)
          : world_.rng.between(s.tick, 4 * s.tick * static_cast<Time>(s.election_ticks));
  world_.queue.after(0, EventKind::kCrash, static_cast<std::uint32_t>(m->id()), downtime);
}

void Nemesis::slow_disk() {
  Member* m = members_[world_.rng.below(members_.size())].get();
  Time until = world_.queue.now() + world_.rng.between(5, 50) * world_.scenario.tick;
  world_.log("nemesis: slow disk on n%llu", ull(m->id()));
  m->slow_disk_until(until);
}

void Nemesis::heal_all() {
  world_.chaos = false;
  world_.log("nemesis: END OF CHAOS - heal, restart all, healthy network");
  world_.net.heal();
  NetworkProfile calm = world_.net.profile();
  calm.drop = calm.duplicate = calm.slow = 0;
  world_.net.set_profile(calm);
  for (auto& m : members_) {
    m->slow_disk_until(0);
    if (!m->up()) world_.queue.after(0, EventKind::kRestart, static_cast<std::uint32_t>(m->id()));
  }
}

}  // namespace raftkv::sim
