#include "core/log.h"

#include <algorithm>
#include <cassert>

namespace raftkv::core {

void Log::restore(std::vector<pb::Entry> entries) {
  entries_.clear();
  offset_ = entries.empty() ? 0 : entries.front().index() - 1;
  offset_term_ = 0;  // unknown without snapshot metadata
  for (auto& entry : entries) append(std::move(entry));
}

void Log::restore(Index index, Term term, std::vector<pb::Entry> entries) {
  reset(index, term);
  for (auto& entry : entries) {
    if (entry.index() == index && entry.term() != term) {
      // Not the history the snapshot summarises: nothing after it can be.
      entries_.clear();
      return;
    }
    if (entry.index() <= index) continue;
    if (entry.index() != last_index() + 1) return;  // a gap: the rest is unusable
    append(std::move(entry));
  }
}

void Log::reset(Index index, Term term) {
  entries_.clear();
  offset_ = index;
  offset_term_ = term;
}

void Log::compact(Index keep_from) {
  keep_from = std::clamp(keep_from, first_index(), last_index() + 1);
  if (keep_from == first_index()) return;
  offset_term_ = at(keep_from - 1).term();
  entries_.erase(entries_.begin(),
                 entries_.begin() + static_cast<std::ptrdiff_t>(keep_from - first_index()));
  offset_ = keep_from - 1;
}

Term Log::last_term() const {
  return entries_.empty() ? offset_term_ : entries_.back()->term();
}

std::optional<Term> Log::term_at(Index index) const {
  if (index == offset_) return offset_term_;
  if (index < offset_ || index > last_index()) return std::nullopt;
  return entries_[index - offset_ - 1]->term();
}

bool Log::matches(Index index, Term term) const {
  auto found = term_at(index);
  return found && *found == term;
}

const SharedEntry& Log::shared_at(Index index) const {
  assert(index > offset_ && index <= last_index());
  return entries_[index - offset_ - 1];
}

void Log::append(pb::Entry&& entry) {
  assert(entry.index() == last_index() + 1);
  entries_.push_back(std::make_shared<const pb::Entry>(std::move(entry)));
}

void Log::truncate_after(Index index) {
  if (index < offset_) index = offset_;
  while (last_index() > index) entries_.pop_back();
}

std::size_t Log::share_into(Index from, Index to, std::size_t max_bytes,
                            std::vector<SharedEntry>* out) const {
  std::size_t bytes = 0;
  for (Index i = from; i <= to && i <= last_index(); ++i) {
    const SharedEntry& entry = shared_at(i);
    const std::size_t size = entry_size(*entry);
    if (bytes > 0 && bytes + size > max_bytes) break;
    out->push_back(entry);
    bytes += size;
  }
  return bytes;
}

Index Log::last_index_with_term_at_most(Index index, Term term) const {
  index = std::min(index, last_index());
  if (index < offset_) return index;  // compacted: terms unknown, no better guess
  if (index == offset_) return offset_;
  // Binary search over positions [0, index - offset_) for the first entry
  // whose term exceeds `term`; the answer is the entry just before it.
  auto begin = entries_.begin();
  auto end = begin + static_cast<std::ptrdiff_t>(index - offset_);
  auto first_above = std::upper_bound(begin, end, term,
                                      [](Term t, const SharedEntry& e) { return t < e->term(); });
  return offset_ + static_cast<Index>(first_above - begin);
}

}  // namespace raftkv::core
