// The Raft core: a pure, deterministic state machine (Raft paper and Diego
// Ongaro's thesis). It owns no sockets, files, threads or clocks; its only
// randomness is a generator seeded through Options. A driver (the daemon's
// libuv loop, or the simulator) feeds it events and carries out the Ready it
// hands back; see ready.h for that contract.
//
// Given the same Options, initial state and sequence of calls, the core
// produces exactly the same outputs: that is what makes the simulator's
// seeds reproducible.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/options.h"
#include "core/ready.h"
#include "core/types.h"
#include "raft.pb.h"

namespace raftkv::core {

// What a member recovered from its disk at start.
//
// With a snapshot, the driver has already loaded the state machine from it:
// the core starts with commit = applied = snapshot index, its log compacted
// up to the snapshot (index and term), and the configuration of
// meta.config (voters: members with learner = false; learners: the rest;
// the bootstrap configuration of Options when meta.config lists nobody),
// then every ENTRY_CONF_CHANGE entry of the log after it.
struct PersistentState {
  pb::HardState hard_state;
  // The newest valid snapshot on disk, if any.
  std::optional<pb::SnapshotMeta> snapshot;
  // The write-ahead log's entries, contiguous. Without a snapshot they start
  // at index 1. With one they may begin anywhere at or below
  // snapshot->index() + 1: the core drops those at or below the snapshot
  // index from memory (and all of them if the entry at the snapshot index
  // has another term: another history).
  std::vector<pb::Entry> entries;
};

enum class ProposeResult {
  kAccepted,      // appended on the leader, or forwarded to the known leader
  kNoLeader,      // no leader known: nothing was proposed (HTTP 503)
  kBackPressure,  // too many uncommitted bytes: nothing was proposed (HTTP 503)
  kTransferring,  // a leadership transfer is in progress: nothing proposed (503)
};

enum class ReadResult { kAccepted, kNoLeader };

// kUnknownTarget: the target is not a voter (unknown, or a learner).
enum class TransferResult { kStarted, kNotLeader, kUnknownTarget, kAlreadyLeader };

// The answer to a membership change (membership.h).
enum class ChangeResult {
  kAccepted,       // appended on the leader: Ready::committed will carry it
  kNotLeader,      // this member is not the leader; leader() names it (HTTP: forward)
  kNoLeader,       // no leader known (HTTP 503)
  kChangePending,  // a change is not committed yet, or the leader has not committed an
                   // entry of its term yet (HTTP 409; retry later)
  kUnsafe,         // the change is refused for good (HTTP 409): id in use, not a learner,
                   // unknown id, last voter
  kTransferring,   // a leadership transfer is in progress (HTTP 503)
};

// A snapshot of the core's state for /status, /metrics and tests.
struct PeerStatus {
  NodeId id = 0;
  Index match = 0;
  Index next = 0;
  bool probing = true;  // mode == PeerMode::kProbe
  PeerMode mode = PeerMode::kProbe;
  Index pending_snapshot = 0;  // kSnapshot: the index of the snapshot being sent
  bool recently_active = false;
};

struct Status {
  NodeId id = 0;
  Role role = Role::kFollower;
  Term term = 0;
  NodeId vote = kNoNode;
  NodeId leader = kNoNode;
  Index commit_index = 0;
  Index applied_index = 0;
  // With a log emptied by compaction: the snapshot's index and term (what
  // votes compare).
  Index last_log_index = 0;
  Term last_log_term = 0;
  Index persisted_index = 0;
  // The newest snapshot the core was told of (0, 0: none) and the first
  // index still in its log (snapshot_index + 1 .. or lower with trailing
  // entries kept).
  Index snapshot_index = 0;
  Term snapshot_term = 0;
  Index first_log_index = 1;
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  std::vector<PeerStatus> peers;  // filled on the leader only
};

class Core {
 public:
  Core(Options options, PersistentState state);
  ~Core();
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  // Advances the logical clock by one tick (the driver decides how long a
  // tick is; the daemon uses a fixed interval).
  void tick();

  // Handles a message from a peer. Ignored: messages for another member, and
  // (pre-)vote requests from a log behind ours sent by a member outside the
  // configuration (a removed member that missed its removal must not depose
  // the leader). Everything else is handled whatever the configuration says
  // (thesis §4.1): a member lagging behind a change must follow a leader it
  // does not know yet.
  void step(const pb::Message& message);
  // The same, taking the message over: entries are moved into the log
  // instead of copied (the daemon's receive path).
  void step(pb::Message&& message);

  // Proposes a client command (the bytes are opaque to Raft). On a follower
  // the command is forwarded to the leader; the driver learns the outcome
  // when the entry is applied (it tags commands with a request id), or,
  // when it certainly will not be appended (the leader changed before it
  // was forwarded, the leader refused it), from Ready::dropped_proposals.
  ProposeResult propose(std::string data);

  // Asks for a linearizable read. The answer comes back as a ReadState with
  // the same request_id (or in Ready::failed_reads).
  ReadResult read_index(std::uint64_t request_id);

  // Starts a leadership transfer to `target` (thesis §3.10), a voter.
  TransferResult transfer_leadership(NodeId target);

  // Proposes a membership change (leader only; one at a time, see
  // membership.h). A follower answers kNotLeader when it knows the leader
  // (the daemon forwards admin requests itself), kNoLeader otherwise. The
  // leader refuses with kUnsafe an ADD_LEARNER of an existing id, a PROMOTE
  // of a non-learner, a REMOVE of an unknown id or of the last voter; with
  // kChangePending while another change is uncommitted or no entry of its
  // term is committed yet. `error` (optional) gets a one-line reason for
  // anything but kAccepted. The entry's ConfChange keeps `origin` and
  // `request_id`: the driver answers the request when it is applied
  // (Ready::committed). A learner is promoted by the leader itself (origin =
  // its id, request_id 0) once caught up (Options::promote_within_entries).
  ChangeResult propose_conf_change(pb::ConfChange change, std::string* error = nullptr);

  // The configuration as of the last entry of the log: what is in force on
  // this member now (Ready::config reports each change).
  const pb::ClusterConfig& config() const;

  // The driver made entries durable up to (index, term). Ignored if the
  // entry at `index` no longer has `term` (the log was truncated meanwhile).
  void on_persisted(Index index, Term term);

  // The driver made a hard state of `term` durable (Ready::hard_state), with
  // the vote it holds. A candidate counts its own vote only from then on:
  // one that wins by it alone (the sole voter) must not lead a term that a
  // crash could take back (a second election in the same term, another log).
  void on_term_persisted(Term term);

  // The state machine applied every committed entry up to `index`.
  void on_applied(Index index);

  // --- Snapshots and log compaction (Raft §7, thesis ch. 5)

  // The metadata a snapshot of the state machine at `index` must carry: the
  // term of entry `index` and the configuration as of `index` (ids, learner
  // flags and addresses as the configuration entries and snapshots carried
  // them). `index` must be in [Status::first_log_index - 1, applied];
  // nullopt otherwise, and where the configuration is unknown (a member that
  // joined with an empty log, below the first configuration entry it got).
  std::optional<pb::SnapshotMeta> snapshot_meta(Index index) const;

  // The driver has durably stored a snapshot with `meta` (meta.index <=
  // applied; a call with meta.index > applied or a term that contradicts the
  // log is ignored). The core offers it to followers that need compacted
  // entries (if it is newer than the one it had), and drops the log entries
  // before `keep_from` from memory, clamped to [first index, meta.index + 1]:
  // the driver passes meta.index + 1 - trailing so that slightly lagging
  // followers still catch up from the log.
  void on_snapshot_taken(const pb::SnapshotMeta& meta, Index keep_from);

  // Leader: the driver's transfer of the snapshot to `peer` ended. ok=false
  // (connection lost for good, the follower refused or failed): the
  // follower goes back to probing, and once it answers a heartbeat a new
  // InstallSnapshot is emitted if it still needs one. ok=true (the
  // follower's driver must have stepped the InstallSnapshot before it
  // acknowledged the last chunk): the follower leaves snapshot mode with its
  // AppendEntriesResponse; meanwhile heartbeats ask whether it holds the
  // snapshot, so a follower that crashed before its install was durable
  // answers no and is sent the snapshot again. Ignored unless `peer` is
  // being sent a snapshot (a stale report).
  void report_snapshot(NodeId peer, bool ok);

  bool has_ready() const;
  // Hands over everything accumulated since the last call.
  Ready ready();

  Status status() const;
  Role role() const;
  NodeId leader() const;
  Term term() const;
  NodeId id() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace raftkv::core
