#include "shadow_log.h"

#include "rng.h"

namespace raftkv::sim {

std::uint64_t entry_hash(const pb::Entry& e) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the payload
  for (unsigned char c : e.data()) h = (h ^ c) * 0x100000001b3ULL;
  h = mix(h, e.term());
  h = mix(h, e.index());
  return mix(h, static_cast<std::uint64_t>(e.type()));
}

std::uint64_t chain_hash(std::uint64_t prefix, const pb::Entry& e) {
  return mix(prefix, entry_hash(e));
}

bool same_entry(const pb::Entry& a, const pb::Entry& b) {
  return a.term() == b.term() && a.index() == b.index() && a.type() == b.type() &&
         a.data() == b.data();
}

bool ShadowLog::write(const std::vector<pb::Entry>& entries) {
  if (entries.empty()) return true;
  Index first = entries.front().index();
  if (first <= base_ || first > last() + 1) return false;
  for (std::size_t k = 0; k < entries.size(); ++k) {
    if (entries[k].index() != first + k) return false;
  }
  entries_.resize(first - base_ - 1);
  hashes_.resize(first - base_ - 1);
  for (const pb::Entry& e : entries) push(e);
  return true;
}

void ShadowLog::reset(const std::vector<pb::Entry>& entries) {
  reset(0, 0, 0, {});
  for (const pb::Entry& e : entries) push(e);
}

void ShadowLog::reset(Index base, Term base_term, std::uint64_t base_hash,
                      const std::vector<pb::Entry>& entries) {
  base_ = base;
  base_term_ = base_term;
  base_hash_ = base_hash;
  entries_.clear();
  hashes_.clear();
  for (const pb::Entry& e : entries) {
    if (e.index() == base && e.term() != base_term) return;  // another history
    if (e.index() <= base) continue;
    if (e.index() != last() + 1) return;
    push(e);
  }
}

void ShadowLog::push(const pb::Entry& e) {
  hashes_.push_back(chain_hash(prefix_hash(last()), e));
  entries_.push_back(e);
}

}  // namespace raftkv::sim
