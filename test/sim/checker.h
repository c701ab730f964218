// The safety properties of Raft (paper §5.2-§5.4, figure 3) plus
// linearizable reads (thesis §6.4) and snapshot safety, checked
// incrementally as the driver sees each Ready. The checker keeps a global
// history that survives crashes: who led which term, the prefix hash of
// every (index, term) ever written, every committed entry and the prefix
// hash of the committed log, and the commit point at which each read was
// requested.
//
// The first violation is kept; later ones are ignored (they are usually
// consequences of the first).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/types.h"
#include "raft.pb.h"
#include "shadow_log.h"
#include "state_machine.h"

namespace raftkv::sim {

using core::NodeId;

struct Violation {
  std::string property;
  std::string detail;
};

class Checker {
 public:
  explicit Checker(std::size_t members);

  // Election Safety (at most one leader per term, ever) and Leader
  // Completeness (a new leader holds every committed entry).
  void on_leader(NodeId id, Term term, const ShadowLog& log);

  // Leader Append-Only: `id` wrote entries starting at `first` while its log
  // ended at `last_before`; `was_leader` if it led the same term throughout.
  void on_write(NodeId id, bool was_leader, Index first, Index last_before);

  // Log Matching: positions [from, log.last()] of `id`'s log were (re)written.
  void on_log_written(NodeId id, const ShadowLog& log, Index from);

  // A batch of entries the driver could not write contiguously.
  void on_bad_write(NodeId id, Index first, Index last_before);

  // State Machine Safety: `id` applied `e` (must be the next index for it,
  // and the same entry everyone else applied there); its state machine is
  // now `state`, which must equal the one built from the committed log.
  void on_apply(NodeId id, const pb::Entry& e, const StateMachine& state);
  // The same without a state to compare (checker tests).
  void on_apply(NodeId id, const pb::Entry& e);

  // `id` crashed: its (volatile) state machine restarts empty.
  void on_crash(NodeId id);

  // Snapshot Safety. `id` took (or stored, or was sent) `snapshot`: it must
  // hold nothing uncommitted (index <= committed()), its state must be the
  // one built from the committed log up to its index, and its term that of
  // the committed entry there. `what` names the moment for the report.
  void on_snapshot(NodeId id, const Snapshot& snapshot, const char* what);
  // `id`'s state machine was replaced by `snapshot`'s (a restart from it, or
  // an install): the same checks, and it applies from the snapshot's index.
  void on_state_loaded(NodeId id, const Snapshot& snapshot, const char* what);

  // Linearizable reads. A read requested at `id` must be answered with an
  // index >= everything committed when it was requested.
  void on_read_requested(NodeId id, std::uint64_t request_id);
  void on_read_state(NodeId id, std::uint64_t request_id, Index index);

  // Dropped Proposal: `id` reported a proposal as certainly never appended
  // (Ready::dropped_proposals); it must never be committed, before or after.
  void on_dropped(NodeId id, const std::string& data);

  // Any other property (liveness, driver contract).
  void fail(const std::string& property, const std::string& detail);

  const std::optional<Violation>& violation() const { return violation_; }
  // Highest index known committed (applied by some member) so far.
  Index committed() const { return committed_.size(); }
  const pb::Entry& committed_entry(Index i) const { return committed_[i - 1]; }
  // The prefix hash of the committed log up to i (0 for i = 0).
  std::uint64_t committed_hash(Index i) const { return i == 0 ? 0 : committed_hashes_[i - 1]; }
  Index applied(NodeId id) const { return applied_[id]; }

 private:
  struct Read {
    NodeId member;
    Index required;
  };
  struct IndexTerm {
    Index index;
    Term term;
    bool operator==(const IndexTerm&) const = default;
  };
  struct IndexTermHash {
    std::size_t operator()(const IndexTerm& k) const;
  };

  void check_completeness(NodeId id, Term term, const ShadowLog& log);
  void on_committed_data(NodeId id, const pb::Entry& e);

  std::optional<Violation> violation_;
  std::map<Term, NodeId> leaders_;
  std::unordered_map<IndexTerm, std::uint64_t, IndexTermHash> prefixes_;
  std::vector<pb::Entry> committed_;
  std::vector<std::uint64_t> committed_hashes_;
  std::vector<Index> applied_;
  std::unordered_map<std::uint64_t, Read> reads_;
  std::unordered_set<std::string> dropped_;         // data reported dropped
  std::unordered_set<std::string> committed_data_;  // data of committed entries
};

}  // namespace raftkv::sim
