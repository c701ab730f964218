#include "harness.h"

#include <algorithm>
#include <stdexcept>

namespace raftkv::core::test {

Options default_options(NodeId id, std::vector<NodeId> voters) {
  Options o;
  o.id = id;
  o.voters = std::move(voters);
  o.election_ticks = 10;
  o.heartbeat_ticks = 1;
  o.seed = 42 + id;
  return o;
}

std::vector<pb::Entry> entries_with_terms(const std::vector<Term>& terms) {
  std::vector<pb::Entry> out;
  for (std::size_t i = 0; i < terms.size(); ++i) {
    pb::Entry e;
    e.set_index(i + 1);
    e.set_term(terms[i]);
    e.set_data("e" + std::to_string(i + 1));
    out.push_back(e);
  }
  return out;
}

Index Disk::first_index() const {
  if (!entries.empty()) return entries.front().index();
  return snapshot ? snapshot->index() + 1 : 1;
}

Index Disk::last_index() const {
  return first_index() + entries.size() - 1;
}

Cluster::Cluster(std::vector<NodeId> ids, const std::function<void(Options&)>& tweak)
    : Cluster(ids, {}, tweak) {}

Cluster::Cluster(std::vector<NodeId> ids, std::map<NodeId, Disk> disks,
                 const std::function<void(Options&)>& tweak)
    : ids_(std::move(ids)), bootstrap_(ids_), tweak_(tweak) {
  for (NodeId id : ids_) start(id, disks.count(id) ? disks[id] : Disk{});
}

void Cluster::start(NodeId id, Disk disk) {
  Member& m = members_[id];
  m.options = default_options(id, bootstrap_);
  tweak_(m.options);
  if (auto it = extra_tweaks_.find(id); it != extra_tweaks_.end()) it->second(m.options);
  m.disk = disk;
  m.held.clear();
  m.unacked = false;
  m.unacked_hard_state = false;
  m.applied = disk.snapshot_state;
  m.received_snapshot.clear();
  m.core = std::make_unique<Core>(m.options,
                                  PersistentState{disk.hard_state, disk.snapshot, disk.entries});
}

void Cluster::restart(NodeId id) {
  Member& m = members_.at(id);
  const bool manual = !m.auto_persist;
  start(id, m.disk);
  m.auto_persist = !manual;
}

void Cluster::add(NodeId id, const std::function<void(Options&)>& tweak) {
  extra_tweaks_[id] = [tweak](Options& o) {
    o.joining = true;
    o.voters.clear();
    tweak(o);
  };
  ids_.push_back(id);
  start(id, Disk{});
}

void Cluster::write(Member& m, const Ready& ready) {
  if (ready.hard_state) m.disk.hard_state = *ready.hard_state;
  if (ready.snapshot) {
    if (m.received_snapshot.size() != ready.snapshot->index()) {
      throw std::logic_error("install of a snapshot that was not received");
    }
    m.disk.snapshot = *ready.snapshot;
    m.disk.snapshot_state = m.received_snapshot;
    m.disk.entries.clear();
    m.applied = m.received_snapshot;
  }
  if (!ready.entries.empty()) {
    const Index first = ready.entries.front()->index();
    if (first > m.disk.last_index() + 1 || first < m.disk.first_index()) {
      throw std::logic_error("gap in written entries");
    }
    m.disk.entries.resize(first - m.disk.first_index());
    for (const auto& e : ready.entries) m.disk.entries.push_back(*e);
  }
}

void Cluster::process(NodeId id) {
  Member& m = members_.at(id);
  if (!m.core->has_ready()) return;
  Ready ready = m.core->ready();
  write(m, ready);
  // Delivered in memory: entries copied in, as the transport would put them
  // on the wire.
  for (auto& msg : ready.messages) enqueue(materialize(std::move(msg)));
  const bool wrote = ready.hard_state || ready.snapshot || !ready.entries.empty();
  for (auto& msg : ready.messages_after_persist) m.held.push_back(std::move(msg));
  if (wrote) m.unacked = true;
  if (ready.hard_state) m.unacked_hard_state = true;
  for (const auto& e : ready.committed) {
    if (e->index() != m.applied.size() + 1) throw std::logic_error("applied out of order");
    m.applied.push_back(*e);
  }
  if (!ready.committed.empty()) m.core->on_applied(ready.committed.back()->index());
  m.reads.insert(m.reads.end(), ready.reads.begin(), ready.reads.end());
  m.failed_reads.insert(m.failed_reads.end(), ready.failed_reads.begin(), ready.failed_reads.end());
  m.dropped.insert(m.dropped.end(), ready.dropped_proposals.begin(), ready.dropped_proposals.end());
  if (ready.config) m.configs.push_back(*ready.config);
  if (m.auto_persist) persist(id);
}

void Cluster::persist(NodeId id) {
  Member& m = members_.at(id);
  if (m.unacked_hard_state) m.core->on_term_persisted(m.disk.hard_state.term());
  m.unacked_hard_state = false;
  if (m.unacked && !m.disk.entries.empty()) {
    m.core->on_persisted(m.disk.entries.back().index(), m.disk.entries.back().term());
  } else if (m.unacked && m.disk.snapshot) {
    m.core->on_persisted(m.disk.snapshot->index(), m.disk.snapshot->term());
  }
  m.unacked = false;
  for (auto& msg : m.held) enqueue(std::move(msg));
  m.held.clear();
}

void Cluster::enqueue(pb::Message&& m) {
  sent_log_.push_back(m);
  queue_.push_back(std::move(m));
}

bool Cluster::blocked(const pb::Message& m) const {
  if (cut_.count({m.from(), m.to()})) return true;
  return drop && drop(m);
}

void Cluster::process_all() {
  for (NodeId id : ids_) process(id);
}

bool Cluster::deliver_one() {
  process_all();
  if (queue_.empty()) return false;
  pb::Message m = std::move(queue_.front());
  queue_.pop_front();
  if (m.has_install_snapshot() && hold_snapshots) {
    held_snapshots_.push_back(std::move(m));
  } else if (m.has_install_snapshot()) {
    deliver_snapshot(std::move(m));
  } else if (!blocked(m) && members_.count(m.to())) {
    members_.at(m.to()).core->step(std::move(m));
  }
  return true;
}

void Cluster::deliver_snapshot(pb::Message m) {
  Member& sender = members_.at(m.from());
  const pb::SnapshotMeta& meta = m.install_snapshot().meta();
  const bool stored = sender.disk.snapshot && sender.disk.snapshot->index() == meta.index() &&
                      sender.disk.snapshot->term() == meta.term();
  const bool ok =
      stored && !blocked(m) && members_.count(m.to()) && !(fail_transfer && fail_transfer(m));
  if (!ok) return sender.core->report_snapshot(m.to(), false);
  // The receiver's driver steps the message before it acknowledges the last
  // chunk, hence before the sender hears that the transfer is done.
  const NodeId to = m.to();
  Member& receiver = members_.at(to);
  receiver.received_snapshot = sender.disk.snapshot_state;
  receiver.core->step(std::move(m));
  sender.core->report_snapshot(to, true);
}

void Cluster::take_snapshot(NodeId id, Index index, Index trailing) {
  Member& m = members_.at(id);
  const std::optional<pb::SnapshotMeta> meta = m.core->snapshot_meta(index);
  if (!meta || m.applied.size() < index) throw std::logic_error("no snapshot at this index");
  m.disk.snapshot = *meta;
  m.disk.snapshot_state.assign(m.applied.begin(),
                               m.applied.begin() + static_cast<std::ptrdiff_t>(index));
  const Index keep_from = index + 1 - std::min(trailing, index);
  while (!m.disk.entries.empty() && m.disk.entries.front().index() < keep_from) {
    m.disk.entries.erase(m.disk.entries.begin());
  }
  m.core->on_snapshot_taken(*meta, keep_from);
}

int Cluster::stabilize() {
  int delivered = 0;
  for (int guard = 0; guard < 100000; ++guard) {
    if (!deliver_one()) {
      process_all();
      if (queue_.empty()) return delivered;
    } else {
      ++delivered;
    }
  }
  throw std::logic_error("cluster did not stabilize");
}

void Cluster::isolate(NodeId id) {
  for (NodeId other : ids_) {
    cut(id, other);
  }
}

void Cluster::cut(NodeId a, NodeId b) {
  cut_.insert({a, b});
  cut_.insert({b, a});
}

void Cluster::tick(NodeId id, int times) {
  for (int i = 0; i < times; ++i) {
    core(id).tick();
    stabilize();
  }
}

void Cluster::tick_all(int times) {
  for (int i = 0; i < times; ++i) {
    for (NodeId id : ids_) core(id).tick();
    stabilize();
  }
}

void Cluster::elect(NodeId id) {
  for (int i = 0; i < 100 && core(id).role() != Role::kLeader; ++i) tick(id);
  if (core(id).role() != Role::kLeader) throw std::logic_error("election failed");
  stabilize();
}

NodeId Cluster::leader() const {
  NodeId found = kNoNode;
  for (const auto& [id, m] : members_) {
    if (m.core->role() == Role::kLeader) found = id;
  }
  return found;
}

}  // namespace raftkv::core::test
