#include "membership.h"

#include <algorithm>
#include <string>
#include <utility>

#include "core/membership.h"

namespace raftkv::sim {

namespace {

const char* change_name(pb::ConfChange::Type type) {
  switch (type) {
    case pb::ConfChange::ADD_LEARNER:
      return "ADD_LEARNER";
    case pb::ConfChange::PROMOTE:
      return "PROMOTE";
    case pb::ConfChange::REMOVE:
      return "REMOVE";
    default:
      return "?";
  }
}

// What a member starts from: the bootstrap voters, or nothing for a spare.
pb::ClusterConfig bootstrap_config(const Scenario& s, NodeId id) {
  if (id >= s.members) return {};
  std::vector<NodeId> voters;
  for (NodeId v = 0; v < s.members; ++v) voters.push_back(v);
  return core::config_of_voters(voters);
}

std::string describe(const pb::ClusterConfig& config) {
  std::string out = "{";
  for (const auto& m : config.members()) {
    if (out.size() > 1) out += ' ';
    out += std::to_string(m.id());
    if (m.learner()) out += 'L';
  }
  return out + "}";
}

}  // namespace

pb::ClusterConfig config_of_log(const pb::ClusterConfig& base, const ShadowLog& log) {
  pb::ClusterConfig config = base;
  for (Index i = log.base() + 1; i <= log.last(); ++i) {
    if (log.at(i).type() == pb::ENTRY_CONF_CHANGE) config = core::config_after(config, log.at(i));
  }
  return config;
}

pb::ClusterConfig committed_config(const Scenario& s, const Checker& checker, Index upto) {
  pb::ClusterConfig config = bootstrap_config(s, 0);
  for (Index i = 1; i <= std::min(upto, checker.committed()); ++i) {
    const pb::Entry& e = checker.committed_entry(i);
    if (e.type() == pb::ENTRY_CONF_CHANGE) config = core::config_after(config, e);
  }
  return config;
}

// --- Member: the membership side of the driver

core::ChangeResult Member::change(pb::ConfChange change, std::string* error) {
  core::ChangeResult result = core_->propose_conf_change(std::move(change), error);
  drain();
  return result;
}

// Runs on Readys that may have changed the configuration: any with a
// configuration entry, with Ready::config, or rewriting the log at or below
// the highest configuration entry ever written.
void Member::check_config(const core::Ready& ready) {
  if (ready.config) {
    config_ = *ready.config;
    if (world_.trace.enabled) world_.log("n%llu config %s", ull(id_), describe(config_).c_str());
  }
  if (ready.entries.empty()) return;
  bool relevant = ready.config.has_value() || ready.entries.front()->index() <= conf_high_water_;
  for (const core::SharedEntry& shared : ready.entries) {
    const pb::Entry& e = *shared;
    if (e.type() != pb::ENTRY_CONF_CHANGE) continue;
    relevant = true;
    conf_high_water_ = std::max(conf_high_water_, e.index());
  }
  if (!relevant) return;
  const std::string reported = config_.SerializeAsString();
  if (core_->config().SerializeAsString() != reported) {
    world_.checker.fail("Driver contract (config)",
                        "n" + std::to_string(id_) + " is in configuration " +
                            describe(core_->config()) + " but last reported " + describe(config_));
    return;
  }
  // The snapshot the log starts after recorded the configuration as of it
  // (the core takes none where it knows none): else the bootstrap one.
  const pb::ClusterConfig& base = log_base_config_.members_size() > 0
                                      ? log_base_config_
                                      : bootstrap_config(world_.scenario, id_);
  pb::ClusterConfig expected = config_of_log(base, log_);
  if (expected.SerializeAsString() == reported) return;
  world_.checker.fail("Configuration follows the log",
                      "n" + std::to_string(id_) + " is in configuration " + describe(config_) +
                          " but its log (last index " + std::to_string(log_.last()) +
                          ") stands for " + describe(expected));
}

// --- MembershipNemesis

MembershipNemesis::MembershipNemesis(World& world, std::vector<std::unique_ptr<Member>>& members)
    : world_(world), members_(members) {}

void MembershipNemesis::start() {
  if (world_.scenario.membership) schedule();
}

void MembershipNemesis::schedule() {
  world_.queue.after(world_.rng.between(1, 2 * world_.scenario.membership_gap),
                     EventKind::kMembership);
}

Member* MembershipNemesis::leader() {
  Member* best = nullptr;
  for (auto& m : members_) {
    if (!m->up() || m->soft().role != core::Role::kLeader) continue;
    if (!best || m->soft().term > best->soft().term) best = m.get();
  }
  return best;
}

void MembershipNemesis::act() {
  if (!world_.chaos) return;
  schedule();
  Member* l = leader();
  if (!l) return;
  std::vector<NodeId> voters;
  std::vector<NodeId> removable;
  std::vector<NodeId> outside;
  for (auto& m : members_) {
    const pb::Member* found = core::find_member(l->config(), m->id());
    if (!found) {
      outside.push_back(m->id());
    } else if (found->learner()) {
      removable.push_back(m->id());
    } else {
      voters.push_back(m->id());
    }
  }
  if (voters.size() > 1) removable.insert(removable.end(), voters.begin(), voters.end());
  // Lean toward the bootstrap size: grow below it, shrink above it.
  const std::size_t size = static_cast<std::size_t>(l->config().members_size());
  const std::size_t target = world_.scenario.members;
  const double grow = size < target ? 0.8 : size > target ? 0.2 : 0.5;
  if (!outside.empty() && (removable.empty() || world_.rng.chance(grow))) {
    add(*l, outside);
  } else if (!removable.empty()) {
    remove(*l, removable);
  }
}

void MembershipNemesis::add(Member& leader, const std::vector<NodeId>& outside) {
  pb::ConfChange change;
  change.set_type(pb::ConfChange::ADD_LEARNER);
  NodeId id = outside[world_.rng.below(outside.size())];
  change.mutable_member()->set_id(id);
  change.mutable_member()->set_raft_address("sim:" + std::to_string(id));
  propose(leader, std::move(change));
}

void MembershipNemesis::remove(Member& leader, const std::vector<NodeId>& ids) {
  pb::ConfChange change;
  change.set_type(pb::ConfChange::REMOVE);
  change.mutable_member()->set_id(ids[world_.rng.below(ids.size())]);
  propose(leader, std::move(change));
}

void MembershipNemesis::propose(Member& leader, pb::ConfChange change) {
  change.set_origin(leader.id());
  change.set_request_id(++next_request_);
  const NodeId target = change.member().id();
  const char* name = change_name(change.type());
  std::string error;
  core::ChangeResult result = leader.change(std::move(change), &error);
  world_.log("membership: n%llu %s n%llu -> %s", ull(leader.id()), name, ull(target),
             result == core::ChangeResult::kAccepted ? "accepted" : error.c_str());
}

}  // namespace raftkv::sim
