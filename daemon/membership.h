// Membership in the daemon (docs/http-api.md "Membership", docs/operations.md
// "Grow or shrink a cluster"): what the configuration in force means for
// this process, and the admin requests waiting for their change to apply.
//
// The core decides the configuration (lib/core/membership.h): it changes as
// soon as an ENTRY_CONF_CHANGE entry is in the log, and rolls back when one
// is truncated away; the daemon hears of each change in Ready::config. Three
// things follow from it here:
//
//  - Peers. The transport talks to every member of the configuration in
//    force but self; on the leader, also to members the core still
//    replicates to after they left it (a member being removed needs its
//    REMOVE entry, and the commit index after it, to learn that it is out);
//    on the others, also to the leader they follow (a leader removing
//    itself leads until its REMOVE commits: it needs their acks). Addresses
//    come from every configuration seen, so a departing member keeps the
//    address it had.
//  - Standing. A member that is in its configuration takes part. A joining
//    member (raftkvd --join) that has never been in one waits to be added:
//    it accepts peer connections from anyone (the leader that adds it may be
//    a member it has never heard of) and answers client requests 503. A
//    member that was in a configuration and is no longer is removed: it
//    keeps running (a supervisor would restart a process that exits), logs
//    it once, and answers client requests 503. Both are read off the
//    configuration in force, so a change that is rolled back is undone here.
//  - Admin requests. POST /members and DELETE /members/ID propose a change
//    tagged with (origin, request id); the member that took the request
//    answers it when it applies the entry (every member applies every
//    committed entry), or 504 at the deadline: a change that was appended
//    may still commit later, so a timeout says "outcome unknown".
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/types.h"
#include "raft.pb.h"
#include "transport/transport.h"
#include "util/cluster_spec.h"

namespace raftkv::daemon {

// The bootstrap configuration from --cluster: every member a voter, with its
// raft address and its HTTP address (the spec's, else 127.0.0.1:2020+ID).
pb::ClusterConfig config_from_spec(const std::vector<util::MemberSpec>& spec);

// The member `id` of `config`, or nullptr.
const pb::Member* member_of(const pb::ClusterConfig& config, core::NodeId id);

// Counts of voters and learners.
std::size_t voter_count(const pb::ClusterConfig& config);
std::size_t learner_count(const pb::ClusterConfig& config);

// The JSON list GET /members and /status show:
// [{"id": 0, "raft": "127.0.0.1:3030", "http": "127.0.0.1:2020",
//   "voter": true, "role": "voter"}, ...] (role: voter or learner).
std::string members_json(const pb::ClusterConfig& config);

// Why `member` cannot be added to `config` although its id is new: another
// member already uses its raft or HTTP address. Empty if none.
std::string address_conflict(const pb::ClusterConfig& config, const pb::Member& member);

// One line for logs: "add learner 4 (raft 127.0.0.1:3034, http ...)",
// "promote 4", "remove 2".
std::string describe_change(const pb::ConfChange& change);

// Whether some configuration recorded on disk (the snapshot's, or one in a
// recovered ENTRY_CONF_CHANGE entry) names `self`. A member started with
// --join whose disk names it was added before: it restarts as a member
// (or, if a later change removed it, as removed), not as joining.
bool named_on_disk(core::NodeId self, const pb::ClusterConfig* snapshot_config,
                   const std::vector<pb::Entry>& entries);

// What this process is to the configuration in force.
enum class Standing {
  kMember,   // in the configuration (voter or learner): takes part
  kJoining,  // --join, never in a configuration yet: waits to be added
  kRemoved,  // was in a configuration, is not in the one in force
};
const char* standing_name(Standing standing);

// The configuration in force seen from this process: standing and peers.
class MembershipView {
 public:
  // `spec` (from --cluster) gives the first addresses and, for a joining
  // member, its first peers: the existing members it names. `joining`: the
  // member was started with --join and nothing on its disk names it yet
  // (see named_on_disk; a restart of an added member is not joining).
  MembershipView(core::NodeId self, bool joining, const std::vector<util::MemberSpec>& spec);

  // The configuration in force changed (or is first known). Returns whether
  // the standing changed.
  bool on_config(const pb::ClusterConfig& config);

  Standing standing() const { return standing_; }
  const pb::ClusterConfig& config() const { return config_; }
  // A joining member accepts peer connections from ids it does not know.
  bool accepts_unknown_peers() const { return standing_ == Standing::kJoining; }
  // Started joining (the core's Options::joining: no bootstrap configuration).
  bool started_joining() const { return joining_; }

  // The transport's peers now: the configuration's members and `tracked`
  // (ids outside it that must stay reachable), self excluded, each at its
  // last known address. While joining: the members --cluster names (the
  // transport adds whoever calls). Sets *peers and returns true only when
  // that differs from what the previous true return handed out.
  bool peers_changed(const std::vector<core::NodeId>& tracked, std::vector<transport::Peer>* peers);

 private:
  void remember_addresses(const pb::ClusterConfig& config);
  std::vector<transport::Peer> compute_peers(const std::vector<core::NodeId>& tracked) const;

  core::NodeId self_;
  bool joining_;
  bool was_member_;
  Standing standing_;
  pb::ClusterConfig config_;
  std::map<core::NodeId, util::Address> raft_addresses_;  // last known, by id
  std::vector<transport::Peer> spec_peers_;               // --cluster minus self
  std::vector<transport::Peer> handed_out_;               // last peers_changed() answer
  bool handed_out_once_ = false;
};

// How an admin request ended (HTTP status in parentheses).
enum class ChangeStatus {
  kApplied,      // the change committed and this member applied it (200)
  kNotFound,     // DELETE of an id that is not a member (404)
  kRefused,      // unsafe or conflicting, nothing proposed (409)
  kUnavailable,  // nothing proposed, and nothing will be (503)
  kTimeout,      // proposed, outcome unknown at the deadline (504)
};

struct ChangeOutcome {
  ChangeStatus status = ChangeStatus::kUnavailable;
  core::Index index = 0;     // kApplied: the entry's index
  pb::ClusterConfig config;  // kApplied: the configuration it led to
  std::string reason;        // otherwise: one line for the error body
  bool retry = false;        // kRefused: the same request will do once the change
                             // pending commits (HTTP: "retry": true)
};

using ChangeCallback = std::function<void(const ChangeOutcome&)>;

// Admin requests whose change was proposed, waiting for it to apply. Pure
// bookkeeping: the driver passes the time in.
class ChangeWaiters {
 public:
  void add(std::uint64_t request_id, std::uint64_t deadline_ms, ChangeCallback done);
  // The change proposed as `request_id` was applied at `index`: answers it
  // 200 with `config`. False if nobody waits for it (timed out, or not ours).
  bool applied(std::uint64_t request_id, core::Index index, const pb::ClusterConfig& config);
  // Answers 504 every request whose deadline is at or before `now_ms`.
  // Returns how many.
  std::size_t expire(std::uint64_t now_ms);
  // Answers every waiting request with `outcome` (shutdown).
  void fail_all(const ChangeOutcome& outcome);
  std::size_t size() const { return waiting_.size(); }

 private:
  std::unordered_map<std::uint64_t, ChangeCallback> waiting_;
  // Deadlines come in non-decreasing order (one timeout for every request).
  std::deque<std::pair<std::uint64_t, std::uint64_t>> deadlines_;  // (deadline, id)
};

}  // namespace raftkv::daemon
