#include "workload.h"

#include <string>

namespace raftkv::sim {

namespace {

// (Not `"c" + std::to_string(n)`: g++ 12 -O3 warns falsely about it, -Wrestrict.)
std::string numbered(const char* prefix, std::uint64_t n) {
  std::string s = prefix;
  s += std::to_string(n);
  return s;
}

}  // namespace

Workload::Workload(World& world, std::vector<std::unique_ptr<Member>>& members)
    : world_(world), members_(members) {}

void Workload::start() {
  const Scenario& s = world_.scenario;
  world_.queue.after(gap(s.propose_gap), EventKind::kPropose);
  world_.queue.after(gap(s.read_gap), EventKind::kRead);
  world_.queue.after(gap(s.transfer_gap), EventKind::kTransfer);
}

// Exponential-looking gaps are not needed; uniform in [0, 2 * mean] keeps
// the rate right and bursts possible.
Time Workload::gap(Time mean) {
  return world_.rng.between(1, 2 * mean);
}

Member* Workload::random_live_member() {
  std::vector<Member*> live;
  for (auto& m : members_) {
    if (m->up()) live.push_back(m.get());
  }
  return live.empty() ? nullptr : live[world_.rng.below(live.size())];
}

Member* Workload::leader() {
  Member* best = nullptr;
  for (auto& m : members_) {
    if (!m->up() || m->soft().role != core::Role::kLeader) continue;
    if (!best || m->soft().term > best->soft().term) best = m.get();
  }
  return best;
}

void Workload::propose() {
  // After the heal only the liveness probe proposes, so that it does not
  // queue behind an ever-growing backlog (an open-loop workload can outrun
  // a configuration that sends one entry per round trip).
  if (!world_.chaos) return;
  world_.queue.after(gap(world_.scenario.propose_gap), EventKind::kPropose);
  Member* m = random_live_member();
  if (!m) return;
  // Payloads are unique per run, so State Machine Safety compares real
  // commands, not look-alikes.
  std::string data = numbered("c", next_command_++);
  world_.log("n%llu propose %s", ull(m->id()), data.c_str());
  if (m->propose(std::move(data)) == core::ProposeResult::kAccepted) ++world_.stats.proposals;
}

void Workload::read() {
  world_.queue.after(gap(world_.scenario.read_gap), EventKind::kRead);
  Member* m = random_live_member();
  if (!m) return;
  std::uint64_t id = ++next_read_;
  world_.log("n%llu read_index %llu (committed now %llu)", ull(m->id()), ull(id),
             ull(world_.checker.committed()));
  m->read(id);
}

void Workload::transfer() {
  world_.queue.after(gap(world_.scenario.transfer_gap), EventKind::kTransfer);
  if (!world_.chaos) return;  // transfers pause proposals: not while probing liveness
  Member* m = leader();
  if (!m) return;
  NodeId target = world_.rng.below(members_.size());
  world_.log("n%llu transfer leadership to n%llu", ull(m->id()), ull(target));
  m->transfer(target);
}

// Proposes a probe through the leader (or anyone if none is known) and
// retries with a fresh probe if one has not committed within an election
// timeout: a forwarded proposal may be lost with its message.
void Workload::probe() {
  if (world_.probe_committed) return;
  const Scenario& s = world_.scenario;
  world_.queue.after(s.tick, EventKind::kProbe);
  Time retry = static_cast<Time>(s.election_ticks) * s.tick;
  if (world_.probe_open && world_.queue.now() < probe_proposed_at_ + retry) return;
  Member* m = leader();
  if (!m) m = random_live_member();
  if (!m) return;
  std::string data = numbered("probe-", next_probe_++);
  world_.log("n%llu propose %s (liveness)", ull(m->id()), data.c_str());
  if (m->propose(std::move(data)) != core::ProposeResult::kAccepted) return;
  world_.probe_open = true;
  probe_proposed_at_ = world_.queue.now();
}

}  // namespace raftkv::sim
