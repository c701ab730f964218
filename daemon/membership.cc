#include "daemon/membership.h"

#include <algorithm>

#include "http/json.h"
#include "util/address.h"
#include "util/log.h"

namespace raftkv::daemon {
namespace {

constexpr const char* kLog = "membership";

bool named_in(const pb::ClusterConfig& config, core::NodeId id) {
  return member_of(config, id) != nullptr;
}

// The form addresses are compared in: "localhost" is 127.0.0.1 to a socket.
std::string canonical(const std::string& address) {
  auto parsed = util::parse_address(address);
  if (!parsed) return address;
  if (parsed->host == "localhost") parsed->host = "127.0.0.1";
  return parsed->to_string();
}

}  // namespace

pb::ClusterConfig config_from_spec(const std::vector<util::MemberSpec>& spec) {
  std::vector<const util::MemberSpec*> by_id;
  for (const util::MemberSpec& member : spec) by_id.push_back(&member);
  // ClusterConfig keeps its members ordered by id (raft.proto).
  std::sort(by_id.begin(), by_id.end(), [](const auto* a, const auto* b) { return a->id < b->id; });
  pb::ClusterConfig config;
  for (const util::MemberSpec* member : by_id) {
    pb::Member* out = config.add_members();
    out->set_id(member->id);
    out->set_raft_address(member->raft.to_string());
    out->set_http_address(util::default_http_address(*member).to_string());
    out->set_learner(false);
  }
  return config;
}

const pb::Member* member_of(const pb::ClusterConfig& config, core::NodeId id) {
  for (const pb::Member& member : config.members()) {
    if (member.id() == id) return &member;
  }
  return nullptr;
}

std::size_t voter_count(const pb::ClusterConfig& config) {
  return static_cast<std::size_t>(std::count_if(config.members().begin(), config.members().end(),
                                                [](const pb::Member& m) { return !m.learner(); }));
}

std::size_t learner_count(const pb::ClusterConfig& config) {
  return static_cast<std::size_t>(config.members_size()) - voter_count(config);
}

std::string members_json(const pb::ClusterConfig& config) {
  std::string out = "[";
  for (const pb::Member& member : config.members()) {
    if (out.size() > 1) out += ", ";
    out += "{\"id\": " + std::to_string(member.id()) + ", \"raft\": \"" +
           http::json_escape(member.raft_address()) + "\", \"http\": \"" +
           http::json_escape(member.http_address()) +
           "\", \"voter\": " + (member.learner() ? "false" : "true") + ", \"role\": \"" +
           (member.learner() ? "learner" : "voter") + "\"}";
  }
  return out + "]";
}

std::string address_conflict(const pb::ClusterConfig& config, const pb::Member& member) {
  const std::string raft = canonical(member.raft_address());
  const std::string http = canonical(member.http_address());
  for (const pb::Member& other : config.members()) {
    if (other.id() == member.id()) continue;
    const std::string who = "member " + std::to_string(other.id());
    if (canonical(other.raft_address()) == raft) return who + " already uses raft address " + raft;
    if (canonical(other.http_address()) == http) return who + " already uses http address " + http;
  }
  return {};
}

std::string describe_change(const pb::ConfChange& change) {
  const std::string id = std::to_string(change.member().id());
  switch (change.type()) {
    case pb::ConfChange::ADD_LEARNER:
      return "add learner " + id + " (raft " + change.member().raft_address() + ", http " +
             change.member().http_address() + ")";
    case pb::ConfChange::PROMOTE:
      return "promote " + id + " to voter";
    case pb::ConfChange::REMOVE:
      return "remove " + id;
    default:
      return "unknown change to " + id;
  }
}

bool named_on_disk(core::NodeId self, const pb::ClusterConfig* snapshot_config,
                   const std::vector<pb::Entry>& entries) {
  if (snapshot_config != nullptr && named_in(*snapshot_config, self)) return true;
  for (const pb::Entry& entry : entries) {
    if (entry.type() != pb::ENTRY_CONF_CHANGE) continue;
    pb::ConfChange change;
    if (!change.ParseFromString(entry.data())) continue;
    if (named_in(change.config(), self) || change.member().id() == self) return true;
  }
  return false;
}

const char* standing_name(Standing standing) {
  switch (standing) {
    case Standing::kMember:
      return "member";
    case Standing::kJoining:
      return "joining";
    case Standing::kRemoved:
      return "removed";
  }
  return "unknown";
}

MembershipView::MembershipView(core::NodeId self, bool joining,
                               const std::vector<util::MemberSpec>& spec)
    : self_(self),
      joining_(joining),
      was_member_(!joining),
      standing_(joining ? Standing::kJoining : Standing::kMember) {
  for (const util::MemberSpec& member : spec) {
    raft_addresses_[member.id] = member.raft;
    if (member.id != self_) spec_peers_.push_back({member.id, member.raft});
  }
}

bool MembershipView::on_config(const pb::ClusterConfig& config) {
  config_ = config;
  remember_addresses(config_);
  Standing now = Standing::kRemoved;
  if (named_in(config_, self_)) {
    now = Standing::kMember;
    was_member_ = true;
  } else if (joining_ && !was_member_) {
    now = Standing::kJoining;
  }
  if (now == standing_) return false;
  standing_ = now;
  return true;
}

void MembershipView::remember_addresses(const pb::ClusterConfig& config) {
  for (const pb::Member& member : config.members()) {
    const auto address = util::parse_address(member.raft_address());
    if (address) {
      raft_addresses_[member.id()] = *address;
    } else if (member.id() != self_) {
      // Addresses are checked before a change is proposed; one that is not
      // valid came from elsewhere, and the member stays unreachable.
      RKV_WARN(kLog, "member %llu has no usable raft address '%s'",
               static_cast<unsigned long long>(member.id()), member.raft_address().c_str());
    }
  }
}

std::vector<transport::Peer> MembershipView::compute_peers(
    const std::vector<core::NodeId>& tracked) const {
  if (standing_ == Standing::kJoining) return spec_peers_;
  std::vector<core::NodeId> ids = tracked;
  for (const pb::Member& member : config_.members()) ids.push_back(member.id());
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<transport::Peer> peers;
  for (core::NodeId id : ids) {
    auto address = raft_addresses_.find(id);
    if (id == self_ || address == raft_addresses_.end()) continue;
    peers.push_back({id, address->second});
  }
  return peers;
}

bool MembershipView::peers_changed(const std::vector<core::NodeId>& tracked,
                                   std::vector<transport::Peer>* peers) {
  std::vector<transport::Peer> now = compute_peers(tracked);
  const auto same = [](const transport::Peer& a, const transport::Peer& b) {
    return a.id == b.id && a.address == b.address;
  };
  if (handed_out_once_ &&
      std::equal(now.begin(), now.end(), handed_out_.begin(), handed_out_.end(), same)) {
    return false;
  }
  handed_out_once_ = true;
  handed_out_ = now;
  *peers = std::move(now);
  return true;
}

void ChangeWaiters::add(std::uint64_t request_id, std::uint64_t deadline_ms, ChangeCallback done) {
  waiting_[request_id] = std::move(done);
  deadlines_.emplace_back(deadline_ms, request_id);
}

bool ChangeWaiters::applied(std::uint64_t request_id, core::Index index,
                            const pb::ClusterConfig& config) {
  auto it = waiting_.find(request_id);
  if (it == waiting_.end()) return false;
  ChangeCallback done = std::move(it->second);
  waiting_.erase(it);
  ChangeOutcome outcome;
  outcome.status = ChangeStatus::kApplied;
  outcome.index = index;
  outcome.config = config;
  done(outcome);
  return true;
}

std::size_t ChangeWaiters::expire(std::uint64_t now_ms) {
  std::size_t expired = 0;
  while (!deadlines_.empty() && deadlines_.front().first <= now_ms) {
    const std::uint64_t id = deadlines_.front().second;
    deadlines_.pop_front();
    auto it = waiting_.find(id);
    if (it == waiting_.end()) continue;  // answered already
    ChangeCallback done = std::move(it->second);
    waiting_.erase(it);
    ++expired;
    ChangeOutcome outcome;
    outcome.status = ChangeStatus::kTimeout;
    outcome.reason =
        "the membership change was proposed but not applied before the deadline; its outcome "
        "is unknown: check GET /members";
    done(outcome);
  }
  return expired;
}

void ChangeWaiters::fail_all(const ChangeOutcome& outcome) {
  auto waiting = std::move(waiting_);
  waiting_.clear();
  deadlines_.clear();
  for (auto& [id, done] : waiting) done(outcome);
}

}  // namespace raftkv::daemon
