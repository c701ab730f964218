#include "checker.h"

#include <sstream>

#include "rng.h"

namespace raftkv::sim {

namespace {

std::string describe(const pb::Entry& e) {
  std::ostringstream out;
  out << "(index " << e.index() << ", term " << e.term() << ", type " << e.type() << ", data '"
      << (e.type() == pb::ENTRY_CONF_CHANGE ? "<configuration change>" : e.data()) << "')";
  return out.str();
}

}  // namespace

Checker::Checker(std::size_t members) : applied_(members, 0) {}

std::size_t Checker::IndexTermHash::operator()(const IndexTerm& k) const {
  return static_cast<std::size_t>(mix(k.index, k.term));
}

void Checker::fail(const std::string& property, const std::string& detail) {
  if (!violation_) violation_ = Violation{property, detail};
}

void Checker::on_leader(NodeId id, Term term, const ShadowLog& log) {
  auto [it, inserted] = leaders_.emplace(term, id);
  if (!inserted && it->second != id) {
    std::ostringstream out;
    out << "n" << id << " became leader of term " << term << ", already led by n" << it->second;
    fail("Election Safety", out.str());
  }
  check_completeness(id, term, log);
}

// Every entry applied anywhere so far was committed, so a new leader must
// hold it (Raft §5.4, Leader Completeness). Its log's prefix hash at the
// commit point says whether it does (a snapshot's base included); the loop
// only finds the first culprit for the report.
void Checker::check_completeness(NodeId id, Term term, const ShadowLog& log) {
  const Index c = committed();
  if (c == 0) return;
  if (c < log.base()) {
    std::ostringstream out;
    out << "n" << id << " became leader of term " << term << " with a snapshot at " << log.base()
        << " past the committed index " << c;
    fail("Leader Completeness", out.str());
    return;
  }
  if (c <= log.last() && log.prefix_hash(c) == committed_hash(c)) return;
  for (Index i = log.base() + 1; i <= c; ++i) {
    if (log.holds(i) && same_entry(log.at(i), committed_entry(i))) continue;
    std::ostringstream out;
    out << "n" << id << " became leader of term " << term << " without committed entry "
        << describe(committed_entry(i)) << "; its log has "
        << (log.holds(i) ? describe(log.at(i)) : std::string("nothing")) << " there";
    fail("Leader Completeness", out.str());
    return;
  }
  std::ostringstream out;
  out << "n" << id << " became leader of term " << term << " with a snapshot at " << log.base()
      << " whose state differs from the committed log's";
  fail("Leader Completeness", out.str());
}

void Checker::on_write(NodeId id, bool was_leader, Index first, Index last_before) {
  if (!was_leader || first > last_before) return;
  std::ostringstream out;
  out << "leader n" << id << " overwrote its log from index " << first << " (log ended at "
      << last_before << ")";
  fail("Leader Append-Only", out.str());
}

void Checker::on_bad_write(NodeId id, Index first, Index last_before) {
  std::ostringstream out;
  out << "n" << id << " asked to write a non-contiguous batch starting at " << first
      << " onto a log ending at " << last_before;
  fail("Driver contract (log gap)", out.str());
}

// Two entries with the same index and term must head identical prefixes;
// the prefix hash of every (index, term) ever written is remembered, so this
// also compares logs across time and crashes.
void Checker::on_log_written(NodeId id, const ShadowLog& log, Index from) {
  for (Index i = from; i <= log.last(); ++i) {
    IndexTerm key{i, log.at(i).term()};
    auto [it, inserted] = prefixes_.emplace(key, log.prefix_hash(i));
    if (inserted || it->second == log.prefix_hash(i)) continue;
    std::ostringstream out;
    out << "n" << id << " holds " << describe(log.at(i))
        << " but its log up to there differs from another log with the same index and term";
    fail("Log Matching", out.str());
    return;
  }
}

void Checker::on_apply(NodeId id, const pb::Entry& e, const StateMachine& state) {
  on_apply(id, e);
  if (violation_ || state.hash == committed_hash(e.index())) return;
  std::ostringstream out;
  out << "n" << id << " applied " << describe(e)
      << " but its state machine differs from the one built from the committed log";
  fail("State Machine Safety (state)", out.str());
}

void Checker::on_apply(NodeId id, const pb::Entry& e) {
  Index expected = applied_[id] + 1;
  if (e.index() != expected) {
    std::ostringstream out;
    out << "n" << id << " applied index " << e.index() << " after " << applied_[id];
    fail("State Machine Safety (apply order)", out.str());
    return;
  }
  applied_[id] = e.index();
  if (e.index() > committed()) {
    committed_hashes_.push_back(chain_hash(committed_hash(committed()), e));
    committed_.push_back(e);
    on_committed_data(id, e);
    return;
  }
  if (same_entry(committed_entry(e.index()), e)) return;
  std::ostringstream out;
  out << "n" << id << " applied " << describe(e) << " where another member applied "
      << describe(committed_entry(e.index()));
  fail("State Machine Safety", out.str());
}

// Payloads are unique per run, so the data names the proposal.
void Checker::on_committed_data(NodeId id, const pb::Entry& e) {
  if (e.data().empty()) return;
  committed_data_.insert(e.data());
  if (dropped_.count(e.data()) == 0) return;
  std::ostringstream out;
  out << "n" << id << " applied " << describe(e) << ", which was reported dropped";
  fail("Dropped Proposal", out.str());
}

void Checker::on_dropped(NodeId id, const std::string& data) {
  dropped_.insert(data);
  if (committed_data_.count(data) == 0) return;
  std::ostringstream out;
  out << "n" << id << " reported proposal '" << data << "' dropped, but it was committed";
  fail("Dropped Proposal", out.str());
}

void Checker::on_crash(NodeId id) {
  applied_[id] = 0;
}

void Checker::on_snapshot(NodeId id, const Snapshot& snapshot, const char* what) {
  const Index index = snapshot.meta.index();
  std::ostringstream out;
  out << "n" << id << " " << what << " a snapshot at (index " << index << ", term "
      << snapshot.meta.term() << ")";
  if (index > committed()) {
    out << " but only " << committed() << " entries are committed";
  } else if (snapshot.state.applied != index || snapshot.state.hash != committed_hash(index)) {
    out << " whose state (applied " << snapshot.state.applied
        << ") is not the committed log's up to its index";
  } else if (index > 0 && snapshot.meta.term() != committed_entry(index).term()) {
    out << " but the committed entry there is " << describe(committed_entry(index));
  } else {
    return;
  }
  fail("Snapshot Safety", out.str());
}

void Checker::on_state_loaded(NodeId id, const Snapshot& snapshot, const char* what) {
  on_snapshot(id, snapshot, what);
  applied_[id] = snapshot.meta.index();
}

void Checker::on_read_requested(NodeId id, std::uint64_t request_id) {
  reads_[request_id] = Read{id, committed()};
}

// The answer reflects the state machine at `index`; it is linearizable only
// if that includes every write committed (hence possibly acknowledged to a
// client) before the read began.
void Checker::on_read_state(NodeId id, std::uint64_t request_id, Index index) {
  auto it = reads_.find(request_id);
  std::ostringstream out;
  if (it == reads_.end() || it->second.member != id) {
    out << "n" << id << " returned read " << request_id << " that was not requested there";
    fail("Linearizable Read (routing)", out.str());
    return;
  }
  if (index >= it->second.required) return;
  out << "n" << id << " answered read " << request_id << " at index " << index << " but index "
      << it->second.required << " was committed when it was requested";
  fail("Linearizable Read", out.str());
}

}  // namespace raftkv::sim
