// RaftNode's side of membership changes (daemon/membership.h has the
// rules): the transport's peers follow the configuration in force, admin
// requests are proposed and answered when their entry applies, and a member
// that is not (or no longer) in its configuration stops serving clients.
#include "core/membership.h"
#include "daemon/raft_node.h"
#include "util/log.h"

namespace raftkv::daemon {
namespace {

constexpr const char* kLog = "membership";

unsigned long long ull(std::uint64_t value) {
  return static_cast<unsigned long long>(value);
}

ChangeOutcome refused(ChangeStatus status, std::string reason) {
  ChangeOutcome outcome;
  outcome.status = status;
  outcome.reason = std::move(reason);
  return outcome;
}

}  // namespace

// Before the core takes the recovered entries. --join counts only until
// the disk names this member: a restart of an added member is a member's.
std::unique_ptr<MembershipView> RaftNode::make_membership_view(
    const storage::RecoveredState& recovered) const {
  bool joining = config_.join;
  if (joining) {
    const pb::ClusterConfig* snapshot_config =
        recovered.snapshot ? &recovered.snapshot->meta.config() : nullptr;
    joining = !named_on_disk(config_.node_id, snapshot_config, recovered.entries);
    if (!joining) RKV_INFO(kLog, "--join ignored: the data dir shows this member was added");
  }
  return std::make_unique<MembershipView>(config_.node_id, joining, config_.members);
}

// After the core is built: the configuration it recovered (no Ready::config
// reports that one), and the peers the transport starts with.
std::vector<transport::Peer> RaftNode::initial_peers() {
  membership_->on_config(core_->config());
  log_standing();
  std::vector<transport::Peer> peers;
  membership_->peers_changed({}, &peers);
  return peers;
}

void RaftNode::on_config(const pb::ClusterConfig& config) {
  const bool standing_changed = membership_->on_config(config);
  RKV_INFO(kLog, "configuration in force: %zu voters, %zu learners", voter_count(config),
           learner_count(config));
  if (standing_changed) log_standing();
  sync_peers();
  // A joining member listens to anyone until a configuration names it.
  transport_->accept_unknown_peers(membership_->accepts_unknown_peers());
}

void RaftNode::log_standing() const {
  switch (membership_->standing()) {
    case Standing::kMember:
      RKV_INFO(kLog, "member %llu is in the configuration", ull(config_.node_id));
      break;
    case Standing::kJoining:
      RKV_INFO(kLog, "member %llu is joining: waiting to be added (POST /members on the leader)",
               ull(config_.node_id));
      break;
    case Standing::kRemoved:
      RKV_WARN(kLog,
               "member %llu is not in the configuration: it was removed and takes no part; "
               "client requests get 503. Stop it and delete its data dir",
               ull(config_.node_id));
      break;
  }
}

// Members outside the configuration in force that must stay reachable: on
// the leader, those its core still replicates to (their removal is not
// known committed); on the others, the leader they follow, which may be
// removing itself (it leads until its REMOVE commits, and needs our acks
// for that).
void RaftNode::sync_peers() {
  std::vector<core::NodeId> tracked;
  if (soft_state_.role == core::Role::kLeader) {
    for (const core::PeerStatus& peer : core_->status().peers) tracked.push_back(peer.id);
  } else if (soft_state_.leader != core::kNoNode) {
    tracked.push_back(soft_state_.leader);
  }
  std::vector<transport::Peer> peers;
  if (membership_->peers_changed(tracked, &peers)) transport_->set_peers(std::move(peers));
}

const char* RaftNode::not_serving_reason() const {
  switch (membership_->standing()) {
    case Standing::kMember:
      return nullptr;
    case Standing::kJoining:
      return "this member is joining the cluster and has not been added yet";
    case Standing::kRemoved:
      return "this member was removed from the cluster";
  }
  return nullptr;
}

const pb::ClusterConfig& RaftNode::membership() const {
  return core_->config();
}

void RaftNode::change_membership(pb::ConfChange change, ChangeCallback done) {
  if (shutting_down_ || !fatal_error_.empty()) {
    return done(refused(ChangeStatus::kUnavailable,
                        shutting_down_ ? "member shutting down" : "member failed: disk error"));
  }
  const core::Status now = core_->status();
  if (now.role != core::Role::kLeader) {
    return done(refused(ChangeStatus::kUnavailable,
                        now.leader == core::kNoNode
                            ? "no leader known"
                            : "not the leader: send membership changes to the leader"));
  }
  // On the leader the configuration in force is the one the change applies to.
  const pb::ClusterConfig& config = core_->config();
  const core::NodeId target = change.member().id();
  if (change.type() == pb::ConfChange::REMOVE && member_of(config, target) == nullptr) {
    return done(refused(ChangeStatus::kNotFound,
                        "member " + std::to_string(target) + " is not in the configuration"));
  }
  if (change.type() == pb::ConfChange::ADD_LEARNER && member_of(config, target) == nullptr) {
    std::string conflict = address_conflict(config, change.member());
    if (!conflict.empty()) return done(refused(ChangeStatus::kRefused, std::move(conflict)));
  }
  const std::uint64_t id = next_request_id();
  change.set_origin(config_.node_id);
  change.set_request_id(id);
  const std::string description = describe_change(change);
  std::string error;
  switch (core_->propose_conf_change(std::move(change), &error)) {
    case core::ChangeResult::kAccepted:
      ++membership_metrics_.changes_proposed;
      RKV_INFO(kLog, "proposed: %s", description.c_str());
      changes_.add(id, now_ms() + config_.request_timeout_ms, std::move(done));
      return;
    case core::ChangeResult::kChangePending: {
      // Another change (or the new leader's first entry) is committing:
      // the same request succeeds once it has.
      ChangeOutcome outcome = refused(ChangeStatus::kRefused, error);
      outcome.retry = true;
      return done(outcome);
    }
    case core::ChangeResult::kUnsafe:
      ++membership_metrics_.changes_refused;
      return done(refused(ChangeStatus::kRefused, error));
    case core::ChangeResult::kNotLeader:
    case core::ChangeResult::kNoLeader:
    case core::ChangeResult::kTransferring:
      return done(refused(ChangeStatus::kUnavailable, error));
  }
}

// A committed ENTRY_CONF_CHANGE: the state machine has nothing to do; the
// member that proposed it answers its admin request.
void RaftNode::apply_conf_change(const pb::Entry& entry) {
  pb::ConfChange change;
  if (!change.ParseFromString(entry.data())) {
    RKV_ERROR(kLog, "entry %llu holds no valid configuration change; skipped", ull(entry.index()));
    return;
  }
  ++membership_metrics_.changes_applied;
  RKV_INFO(kLog, "applied at index %llu: %s", ull(entry.index()), describe_change(change).c_str());
  if (change.origin() != config_.node_id || change.request_id() == 0) return;
  const pb::ClusterConfig config =
      change.config().members_size() > 0 ? change.config() : core_->config();
  changes_.applied(change.request_id(), entry.index(), config);
}

}  // namespace raftkv::daemon
