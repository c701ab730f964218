#include "snapshot_transfer.h"

#include <string>
#include <utility>

namespace raftkv::sim {

SnapshotTransfers::SnapshotTransfers(World& world, std::vector<std::unique_ptr<Member>>& members)
    : world_(world), members_(members) {}

void SnapshotTransfers::start(Member& from, const pb::Message& message) {
  const pb::SnapshotMeta& meta = message.install_snapshot().meta();
  const std::optional<Snapshot>& stored = from.snapshot_store();
  // The core offers the newest snapshot it was told of, which is the one the
  // driver holds: anything else is a driver (or core) bug.
  if (!stored || stored->meta.index() != meta.index() || stored->meta.term() != meta.term()) {
    world_.checker.fail("Driver contract (snapshot store)",
                        "n" + std::to_string(from.id()) + " was asked to send a snapshot at " +
                            std::to_string(meta.index()) + " it does not hold");
    return;
  }
  if (message.to() >= members_.size()) return;
  const Member& to = *members_[message.to()];
  const Scenario& s = world_.scenario;
  Transfer t{message,          *stored, from.incarnation(),
             to.incarnation(), to.up(), world_.chaos && world_.rng.chance(s.transfer_fail)};
  const NetworkProfile& net = world_.net.profile();
  Time duration =
      world_.rng.between(net.min_delay, net.max_delay) + s.transfer_per_entry * meta.index();
  std::uint64_t slot;
  if (free_.empty()) {
    slot = slots_.size();
    slots_.push_back(std::move(t));
  } else {
    slot = free_.back();
    free_.pop_back();
    slots_[slot] = std::move(t);
  }
  ++world_.stats.transfers;
  world_.log("n%llu -> n%llu snapshot %llu/%llu transfer starts (%llu.%03llums)",
             ull(message.from()), ull(message.to()), ull(meta.index()), ull(meta.term()),
             ull(duration / kMillisecond), ull(duration % kMillisecond));
  world_.queue.after(duration, EventKind::kTransferDone, 0, slot);
}

void SnapshotTransfers::finish(std::uint64_t slot) {
  Transfer t = std::move(slots_[slot]);
  free_.push_back(slot);
  const NodeId from_id = t.message.from();
  const NodeId to_id = t.message.to();
  Member& from = *members_[from_id];
  Member& to = *members_[to_id];
  const bool sender_alive = from.up() && from.incarnation() == t.from_incarnation;
  const bool receiver_alive = t.to_was_up && to.up() && to.incarnation() == t.to_incarnation;
  const bool linked = !world_.net.is_cut(from_id, to_id) && !world_.net.is_cut(to_id, from_id);
  const bool ok = sender_alive && receiver_alive && linked && !t.breaks;
  world_.log("n%llu -> n%llu snapshot %llu transfer %s", ull(from_id), ull(to_id),
             ull(t.snapshot.meta.index()), ok ? "done" : "FAILED");
  if (!ok) {
    ++world_.stats.transfer_failures;
    if (sender_alive) from.report_snapshot(to_id, false);
    return;
  }
  to.deliver_snapshot(t.message, t.snapshot);
  if (world_.rng.chance(world_.net.profile().duplicate) && to.up()) {
    to.deliver_snapshot(t.message, t.snapshot);
  }
  if (from.up() && from.incarnation() == t.from_incarnation) from.report_snapshot(to_id, true);
}

}  // namespace raftkv::sim
