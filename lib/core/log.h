// The in-memory Raft log (Raft §5.3): a window of entries in a deque with an
// offset, so that a snapshot can drop a prefix without renumbering (Raft
// §7, thesis ch. 5).
//
// Indexes 1..compacted_index() are gone (covered by a snapshot);
// compacted_term() is the term of the entry at compacted_index(), needed for
// the AppendEntries consistency check of the first entry after it and as
// the last term of a log that a snapshot emptied. Without compaction both
// are 0 and index 0 has term 0, the conventional "empty log" sentinel.
//
// Invariants: terms never decrease along the log, compacted entry included
// (a leader appends entries of its own term, which is higher than every term
// already in its log), which lets the fast back-tracking search be a binary
// search; term_at(compacted_index()) == compacted_term().
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

#include "core/shared_entry.h"
#include "core/types.h"
#include "raft.pb.h"

namespace raftkv::core {

// Bytes an entry counts for in batching and flow control: its payload plus a
// fixed allowance for the envelope, so that empty entries (no-ops) are not
// free and a byte budget also bounds the entry count.
inline constexpr std::size_t kEntryOverhead = 16;
inline std::size_t entry_size(const pb::Entry& entry) {
  return entry.data().size() + kEntryOverhead;
}

class Log {
 public:
  Log() = default;

  // Loads entries recovered from disk; they must be contiguous. The first
  // one's index fixes the offset (its term is unknown: 0).
  void restore(std::vector<pb::Entry> entries);
  // Loads a log that follows a snapshot of (index, term): entries at or
  // below `index` are skipped, the rest must be contiguous from index + 1
  // (those after a gap are ignored). If the entry at `index` has another
  // term, the entries belong to another history and all are dropped.
  void restore(Index index, Term term, std::vector<pb::Entry> entries);
  // Replaces the whole log with the point (index, term) of an installed
  // snapshot: empty, compacted_index() == index.
  void reset(Index index, Term term);
  // Drops the entries before `keep_from` (clamped to [first_index(),
  // last_index() + 1]), remembering the term of the last one dropped.
  void compact(Index keep_from);

  Index first_index() const { return offset_ + 1; }
  Index last_index() const { return offset_ + entries_.size(); }
  Term last_term() const;
  Index compacted_index() const { return offset_; }
  Term compacted_term() const { return offset_term_; }

  // The term of the entry at `index`, compacted_term() at the compaction
  // point, nullopt when the index is compacted away or past the end.
  std::optional<Term> term_at(Index index) const;
  bool matches(Index index, Term term) const;

  // The entry at `index`; first_index() <= index <= last_index().
  const pb::Entry& at(Index index) const { return *shared_at(index); }
  // The same entry, shared (see shared_entry.h): stays valid after the log
  // drops it.
  const SharedEntry& shared_at(Index index) const;

  // Appends an entry whose index must be last_index() + 1.
  void append(pb::Entry&& entry);
  // Drops every entry after `index` (a follower's conflicting suffix).
  void truncate_after(Index index);

  // Appends the shared entries from `from` up to `to` (inclusive) to
  // `out`, stopping before the byte budget would be exceeded but always
  // taking at least one. Returns the bytes taken (entry_size()).
  std::size_t share_into(Index from, Index to, std::size_t max_bytes,
                         std::vector<SharedEntry>* out) const;

  // The largest index i <= `index` whose term is <= `term` (compacted_index()
  // at the least when `index` is not compacted; `index` itself when it is,
  // as terms there are unknown). Used by both sides of fast back-tracking:
  // it skips a whole conflicting term in one step. O(log n): terms are
  // non-decreasing.
  Index last_index_with_term_at_most(Index index, Term term) const;

 private:
  std::deque<SharedEntry> entries_;
  Index offset_ = 0;
  Term offset_term_ = 0;
};

}  // namespace raftkv::core
