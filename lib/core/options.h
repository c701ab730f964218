// Construction-time settings of a Raft core.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/types.h"
#include "raft.pb.h"

namespace raftkv::core {

// Deliberately broken behaviours, switched on only by tests, that prove the
// simulator catches real safety bugs. Never set outside test/.
struct UnsafeTestFaults {
  // Commit an entry of an earlier term as soon as a majority stores it
  // (violates Raft §5.4.2, the situation of the paper's figure 8).
  bool commit_prior_term_by_count = false;
  // Do not persist the vote before answering a RequestVote: after a crash
  // the member may vote twice in one term.
  bool forget_to_persist_vote = false;
  // Answer ReadIndex requests at once, without the heartbeat round that
  // proves the leader is still the leader (thesis §6.4).
  bool read_index_without_heartbeat = false;
  // Take a follower's ReadIndexRequest as proof of leadership whatever the
  // number of voters and the request's term (it is proof only with a
  // quorum of 2 and a request of the leader's term: read_index.cc).
  bool read_index_asker_always_confirms = false;
  // An off-by-one in the snapshot point: snapshot_meta(i) describes entry
  // i + 1 when the log holds it. A snapshot of the state machine at i then
  // claims an entry it never applied, possibly one never committed.
  bool snapshot_one_past_applied = false;
  // Start a membership change while another is uncommitted: two changes
  // together can leave two majorities that do not overlap (thesis §4.1).
  bool concurrent_conf_changes = false;
  // Keep a configuration whose entry was truncated away (thesis §4.1: a
  // member uses the latest configuration in its log, committed or not).
  bool keep_config_on_truncation = false;
};

struct Options {
  NodeId id = 0;
  // Initial voting members (including `id`), used when initial_config is
  // empty (their addresses are then unknown to the core).
  std::vector<NodeId> voters;
  // The bootstrap configuration: what is in force below the first
  // ENTRY_CONF_CHANGE entry of the log (and below any snapshot's).
  pb::ClusterConfig initial_config;
  // A member started to join an existing cluster (raftkvd --join): it starts
  // with an empty configuration (voters and initial_config are ignored),
  // accepts the log from any leader, and never campaigns until a
  // configuration in its log makes it a voter.
  bool joining = false;
  // The leader promotes a learner by itself once the learner's log has been
  // within this many entries of its own for an election timeout, hearing
  // from it meanwhile (membership: reconfigure.cc).
  bool auto_promote = true;
  std::size_t promote_within_entries = 100;

  // The election timeout is drawn uniformly from
  // [election_ticks, 2 * election_ticks) each time it is reset.
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  bool pre_vote = true;
  // A leader that has not heard from a majority within an election timeout
  // steps down; a follower that heard from a leader within the election
  // timeout ignores (pre-)votes (leader stickiness, thesis §4.2.3).
  bool check_quorum = true;

  // Batching and flow control of AppendEntries per follower.
  std::size_t max_append_bytes = 1 << 20;     // entry bytes in one message
  std::size_t max_inflight_messages = 64;     // pipelining window (count)
  std::size_t max_inflight_bytes = 16 << 20;  // pipelining window (bytes)
  // Proposals buffered on the leader before propose() refuses (back pressure).
  std::size_t max_uncommitted_bytes = 64 << 20;

  // Seed of the core's own random generator (election timeouts), and of the
  // session that names this incarnation's forwarded proposals: it should
  // differ between incarnations of a member, or a member restarted on an
  // unchanged disk may see its forwarded batches ignored as copies of its
  // previous incarnation's until the term changes.
  std::uint64_t seed = 1;

  UnsafeTestFaults faults;
};

}  // namespace raftkv::core
