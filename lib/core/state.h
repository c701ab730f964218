// Internal: the state behind Core and the handlers that change it. Each
// concern lives in its own .cc file:
//   core.cc        Core's public methods, term rules common to all messages
//                  (Raft §5.1), dispatch per message type, Ready assembly
//   election.cc    roles, timeouts, pre-vote and votes (§5.2, §5.4.1,
//                  thesis §9.6 pre-vote, §6.2 check-quorum, §4.2.3 stickiness)
//   replication.cc AppendEntries both ways, flow control, commitment (§5.3,
//                  §5.4.2), proposals and their forwarding
//   read_index.cc  linearizable reads without log writes (thesis §6.4)
//   transfer.cc    leadership transfer (thesis §3.10)
//   snapshot.cc    snapshots and log compaction: restart from a snapshot,
//                  InstallSnapshot both ways (Raft §7, thesis ch. 5)
//   reconfigure.cc membership changes (thesis §4.1, §4.4; membership.h)
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "core/configuration.h"
#include "core/core.h"
#include "core/log.h"
#include "core/membership.h"
#include "core/progress.h"
#include "core/proposal_filter.h"
#include "core/rng.h"

namespace raftkv::core {

// A ReadIndex request waiting on the leader: local (from == own id) or from
// a follower, which gets one ReadIndexResponse for all of `ids`.
struct PendingRead {
  NodeId from = kNoNode;
  std::vector<std::uint64_t> ids;
  Index index = 0;          // the commit index the read must observe
  std::uint64_t round = 0;  // the heartbeat round that confirms leadership
};

enum class Campaign { kPreVote, kElection, kTransfer };

struct Core::State {
  State(Options options, PersistentState persistent);

  // --- configuration and fixed inputs
  Options opts;
  NodeId id;
  Configuration config;  // quorum view of configs.current()
  Rng rng;

  // --- persistent state (Raft figure 2) and the log
  Term term = 0;
  NodeId vote = kNoNode;
  Log log;
  bool hard_state_dirty = false;
  // The newest snapshot the driver stored (on_snapshot_taken, a restart or
  // an install): what a leader offers followers behind its compaction point.
  std::optional<pb::SnapshotMeta> snapshot;

  // --- volatile state
  Role role = Role::kFollower;
  NodeId leader = kNoNode;
  Index commit = 0;
  Index persisted = 0;      // last index known durable in the local log
  Index unstable_from = 1;  // first index not yet handed to the driver
  Index applying = 0;       // last index handed out in Ready::committed
  Index applied = 0;        // last index the driver reported applied
  int election_elapsed = 0;
  int heartbeat_elapsed = 0;
  int randomized_timeout = 0;
  std::map<NodeId, bool> votes;  // answers in the current (pre-)election

  // --- leader state
  std::map<NodeId, Progress> progress;  // every voter and learner but self
  std::size_t uncommitted_bytes = 0;
  bool need_flush = false;      // proposals or acks may allow new appends
  bool commit_changed = false;  // followers should hear the new commit index
  NodeId transfer_target = kNoNode;
  int transfer_elapsed = 0;
  bool timeout_now_sent = false;
  std::uint64_t read_round = 0;
  std::deque<PendingRead> reads_awaiting_commit;  // before the term's first commit
  std::deque<PendingRead> reads_unsent;           // wait for the next round
  std::deque<PendingRead> reads_in_round;         // ordered by round
  // Forwarded batches decided in led_term, the last term this incarnation
  // led (0: none).
  Term led_term = 0;
  ProposalFilter proposals_decided;

  // --- follower state
  google::protobuf::RepeatedPtrField<pb::Entry> forward_entries;  // to the leader
  std::uint64_t propose_session = 0;         // names our forwarded batches (once per incarnation)
  std::uint64_t propose_seq = 0;             // the last batch forwarded
  std::vector<std::uint64_t> forward_reads;  // to the leader
  // Reads sent to the leader and not answered yet, ascending ids: a deque,
  // not a map, so that a forwarded read allocates no node (read_index.cc).
  struct OutstandingRead {
    std::uint64_t id;
    NodeId leader;           // the leader asked
    std::uint64_t asked_at;  // `ticks` when sent
  };
  std::deque<OutstandingRead> outstanding_reads;
  std::uint64_t ticks = 0;  // since start; times outstanding reads out

  // --- membership (reconfigure.cc)
  ConfigHistory configs;        // the configurations the log stands for
  bool config_changed = false;  // Ready::config is due
  // Leader: per learner, leader ticks it has been caught up for, and ticks
  // since it last answered (auto-promotion).
  struct LearnerWatch {
    int caught_up_ticks = 0;
    int silent_ticks = 0;
    bool heard = false;
  };
  std::map<NodeId, LearnerWatch> learners_watched;
  // Leader: members whose removal committed, kept for this many more ticks
  // so that they hear it (their Progress stays meanwhile).
  std::map<NodeId, int> departing;

  // --- output
  Ready out;
  SoftState last_soft;

  // core.cc
  void step(pb::Message&& m);
  bool check_term(const pb::Message& m);
  void answer_stale(const pb::Message& m);
  pb::Message message_to(NodeId to) const;
  void send(pb::Message&& m) { out.messages.push_back({std::move(m), {}}); }
  void send(OutMessage&& m) { out.messages.push_back(std::move(m)); }
  void send_after_persist(pb::Message&& m) { out.messages_after_persist.push_back(std::move(m)); }
  void flush();
  Ready take_ready();
  bool has_ready() const;
  Status status() const;
  SoftState soft_state() const { return SoftState{role, leader, term}; }

  // election.cc
  void tick_election();
  void expire_outstanding_reads();
  void tick_leader();
  bool in_lease() const;
  bool promotable() const;  // reconfigure.cc
  void reset_election_timer();
  void set_term(Term new_term);
  void set_leader(NodeId new_leader);
  void become_follower(Term new_term, NodeId new_leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void campaign(Campaign kind);
  void advance_election();
  bool quorum_active();
  void handle_request_vote(const pb::Message& m);
  void reject_vote(const pb::Message& m);
  void handle_vote_response(const pb::Message& m);

  // replication.cc
  bool send_append(NodeId to, Progress& pr);
  std::pair<Index, Term> heartbeat_anchor(const Progress& pr) const;
  void send_heartbeat(NodeId to, Progress& pr);
  void broadcast_heartbeat();
  void flush_appends();
  void handle_append_entries(pb::Message&& m);
  void append_from_leader(Index prev, google::protobuf::RepeatedPtrField<pb::Entry>* entries);
  void send_ack(pb::Message&& reply, Index match);
  void reject_append(const pb::Message& m);
  void handle_append_response(const pb::Message& m);
  void handle_append_rejection(Progress& pr, const pb::AppendEntriesResponse& r);
  bool maybe_commit();
  void advance_commit(Index index);
  ProposeResult propose(std::string&& data);
  bool append_proposal(pb::Entry&& entry);
  void handle_propose(pb::Message&& m);
  bool decide_proposal(const pb::Message& m);
  void append_proposals(pb::Message& m, bool refuse_on_back_pressure);
  void refuse_proposal(pb::Message& m, int first, pb::ProposeResponse::Reason reason);
  void handle_propose_response(const pb::Message& m);
  void drop_forward_entries();
  void on_persisted(Index index, Term t);
  void on_term_persisted(Term t);
  void tick_stalls();

  // read_index.cc
  bool committed_in_term() const;
  ReadResult read_index(std::uint64_t request_id);
  void add_leader_reads(NodeId from, std::span<const std::uint64_t> ids);
  bool asker_completes_quorum(NodeId asker) const;
  void start_read_round();
  void ack_read_round(Progress& pr, std::uint64_t round);
  bool round_confirmed(std::uint64_t round) const;
  void release_reads();
  void serve_read(NodeId from, Index index, std::span<const std::uint64_t> ids);
  void send_forward_reads();
  void on_term_committed();
  void fail_all_reads();
  void handle_read_index_request(const pb::Message& m);
  void handle_read_index_response(const pb::Message& m);

  // transfer.cc
  TransferResult transfer_leadership(NodeId target);
  void maybe_send_timeout_now();
  void abort_transfer();
  void handle_timeout_now(const pb::Message& m);

  // snapshot.cc
  void restore_snapshot(const pb::SnapshotMeta& meta, std::vector<pb::Entry>&& entries);
  std::optional<pb::SnapshotMeta> snapshot_meta(Index index) const;
  void on_snapshot_taken(const pb::SnapshotMeta& meta, Index keep_from);
  void send_snapshot(NodeId to, Progress& pr);
  void report_snapshot(NodeId peer, bool ok);
  void handle_install_snapshot(const pb::Message& m);
  void install_snapshot(const pb::SnapshotMeta& meta);
  void skip_compacted(pb::AppendEntries* ae) const;

  // reconfigure.cc
  void init_membership();
  void restore_config(const pb::ClusterConfig& recorded, Index index);
  bool knows(NodeId from) const;
  bool ignores(const pb::Message& m) const;
  bool log_up_to_date(const pb::RequestVote& rv) const;
  void note_appended(const pb::Entry& entry);
  void note_truncated(Index last_kept);
  void adopt_config();
  void sync_progress();
  ChangeResult propose_conf_change(pb::ConfChange&& change, std::string* error);
  ChangeResult may_change(std::string* error) const;
  void append_conf_change(pb::ConfChange&& change);
  void on_commit_advanced();
  void step_down_removed();
  void note_heard(NodeId from);
  void tick_promotions();
  void tick_departures();
};

}  // namespace raftkv::core
