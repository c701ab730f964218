#include "core/membership.h"

#include <algorithm>

namespace raftkv::core {
namespace {

pb::Member* find_mutable(pb::ClusterConfig& config, NodeId id) {
  for (auto& member : *config.mutable_members()) {
    if (member.id() == id) return &member;
  }
  return nullptr;
}

std::size_t voter_count(const pb::ClusterConfig& config) {
  return static_cast<std::size_t>(std::count_if(config.members().begin(), config.members().end(),
                                                [](const pb::Member& m) { return !m.learner(); }));
}

void sort_by_id(pb::ClusterConfig& config) {
  auto* members = config.mutable_members();
  std::sort(members->begin(), members->end(),
            [](const pb::Member& a, const pb::Member& b) { return a.id() < b.id(); });
}

}  // namespace

const pb::Member* find_member(const pb::ClusterConfig& config, NodeId id) {
  for (const auto& member : config.members()) {
    if (member.id() == id) return &member;
  }
  return nullptr;
}

pb::ClusterConfig config_of_voters(const std::vector<NodeId>& voters) {
  pb::ClusterConfig config;
  for (NodeId id : voters) {
    if (find_member(config, id)) continue;
    config.add_members()->set_id(id);
  }
  sort_by_id(config);
  return config;
}

Configuration quorum_view(const pb::ClusterConfig& config) {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  for (const auto& member : config.members()) {
    (member.learner() ? learners : voters).push_back(member.id());
  }
  return Configuration(std::move(voters), std::move(learners));
}

std::string check_change(const pb::ClusterConfig& config, const pb::ConfChange& change) {
  const NodeId id = change.member().id();
  const pb::Member* member = find_member(config, id);
  const std::string who = "member " + std::to_string(id);
  switch (change.type()) {
    case pb::ConfChange::ADD_LEARNER:
      if (id == kNoNode) return "member id " + std::to_string(id) + " is reserved";
      return member ? who + " already exists" : "";
    case pb::ConfChange::PROMOTE:
      if (!member) return who + " is not in the cluster";
      return member->learner() ? "" : who + " is already a voter";
    case pb::ConfChange::REMOVE:
      if (!member) return who + " is not in the cluster";
      if (!member->learner() && voter_count(config) == 1) return who + " is the last voter";
      return "";
    default:
      return "unknown change type " + std::to_string(change.type());
  }
}

pb::ClusterConfig apply_change(pb::ClusterConfig config, const pb::ConfChange& change) {
  if (!check_change(config, change).empty()) return config;
  const NodeId id = change.member().id();
  switch (change.type()) {
    case pb::ConfChange::ADD_LEARNER: {
      pb::Member* added = config.add_members();
      *added = change.member();
      added->set_learner(true);
      sort_by_id(config);
      break;
    }
    case pb::ConfChange::PROMOTE:
      find_mutable(config, id)->set_learner(false);
      break;
    case pb::ConfChange::REMOVE: {
      auto* members = config.mutable_members();
      for (int i = 0; i < members->size(); ++i) {
        if (members->Get(i).id() != id) continue;
        members->DeleteSubrange(i, 1);
        break;
      }
      break;
    }
    default:
      break;
  }
  return config;
}

pb::ClusterConfig config_after(const pb::ClusterConfig& before, const pb::Entry& entry) {
  pb::ConfChange change;
  if (entry.type() != pb::ENTRY_CONF_CHANGE || !change.ParseFromString(entry.data())) {
    return before;
  }
  if (change.has_config()) return change.config();
  return apply_change(before, change);
}

// --- ConfigHistory

void ConfigHistory::reset(pb::ClusterConfig base, Index base_index) {
  base_ = std::move(base);
  base_index_ = base_index;
  changes_.clear();
}

void ConfigHistory::append(Index index, pb::ClusterConfig config) {
  changes_.emplace_back(index, std::move(config));
}

bool ConfigHistory::truncate_after(Index index) {
  bool changed = false;
  while (!changes_.empty() && changes_.back().first > index) {
    changes_.pop_back();
    changed = true;
  }
  return changed;
}

void ConfigHistory::compact(Index index) {
  if (index <= base_index_) return;
  auto first_kept = std::find_if(changes_.begin(), changes_.end(),
                                 [index](const auto& change) { return change.first > index; });
  if (first_kept != changes_.begin()) base_ = std::prev(first_kept)->second;
  changes_.erase(changes_.begin(), first_kept);
  base_index_ = index;
}

const pb::ClusterConfig& ConfigHistory::current() const {
  return changes_.empty() ? base_ : changes_.back().second;
}

const pb::ClusterConfig& ConfigHistory::at(Index index) const {
  const pb::ClusterConfig* found = &base_;
  for (const auto& [change_index, config] : changes_) {
    if (change_index > index) break;
    found = &config;
  }
  return *found;
}

Index ConfigHistory::last_change_index() const {
  return changes_.empty() ? base_index_ : changes_.back().first;
}

std::vector<NodeId> ConfigHistory::members_since(Index index) const {
  std::vector<NodeId> ids;
  auto add_all = [&ids](const pb::ClusterConfig& config) {
    for (const auto& member : config.members()) ids.push_back(member.id());
  };
  add_all(at(index));
  for (const auto& [change_index, config] : changes_) {
    if (change_index > index) add_all(config);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

bool ConfigHistory::voter_since(Index index, NodeId id) const {
  auto is_voter = [id](const pb::ClusterConfig& config) {
    const pb::Member* member = find_member(config, id);
    return member && !member->learner();
  };
  if (is_voter(at(index))) return true;
  return std::any_of(changes_.begin(), changes_.end(), [&](const auto& change) {
    return change.first > index && is_voter(change.second);
  });
}

}  // namespace raftkv::core
