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

bool same_entry(const pb::Entry& a, const pb::Entry& b) {
  return a.term() == b.term() && a.index() == b.index() && a.type() == b.type() &&
         a.data() == b.data();
}

bool ShadowLog::write(const std::vector<pb::Entry>& entries) {
  if (entries.empty()) return true;
  Index first = entries.front().index();
  if (first == 0 || first > last() + 1) return false;
  for (std::size_t k = 0; k < entries.size(); ++k) {
    if (entries[k].index() != first + k) return false;
  }
  entries_.resize(first - 1);
  hashes_.resize(first - 1);
  for (const pb::Entry& e : entries) push(e);
  return true;
}

void ShadowLog::reset(const std::vector<pb::Entry>& entries) {
  entries_.clear();
  hashes_.clear();
  for (const pb::Entry& e : entries) push(e);
}

void ShadowLog::push(const pb::Entry& e) {
  hashes_.push_back(mix(prefix_hash(last()), entry_hash(e)));
  entries_.push_back(e);
}

}  // namespace raftkv::sim
