#include "daemon/pending_requests.h"

#include <algorithm>
#include <vector>

namespace raftkv::daemon {

void PendingRequests::add(std::uint64_t id, std::uint64_t deadline_ms, RequestCallback callback) {
  deadlines_.emplace_back(deadline_ms, id);
  ++live_;
  if (entries_.empty() || entries_.back().id < id) {
    entries_.push_back(Entry{id, std::move(callback)});
    return;
  }
  // Out of order (not how RaftNode numbers requests): keep the deque sorted.
  const auto it = position(id);
  if (it != entries_.end() && it->id == id) {
    if (it->callback) --live_;  // same id again: the newer callback replaces the older
    it->callback = std::move(callback);
    return;
  }
  entries_.insert(it, Entry{id, std::move(callback)});
}

std::deque<PendingRequests::Entry>::iterator PendingRequests::position(std::uint64_t id) {
  return std::lower_bound(entries_.begin(), entries_.end(), id,
                          [](const Entry& e, std::uint64_t v) { return e.id < v; });
}

PendingRequests::Entry* PendingRequests::find(std::uint64_t id) {
  const auto it = position(id);
  if (it == entries_.end() || it->id != id || !it->callback) return nullptr;
  return &*it;
}

bool PendingRequests::contains(std::uint64_t id) const {
  return const_cast<PendingRequests*>(this)->find(id) != nullptr;
}

RequestCallback PendingRequests::take(std::uint64_t id) {
  Entry* entry = find(id);
  if (entry == nullptr) return {};
  RequestCallback callback = std::move(entry->callback);
  entry->callback = nullptr;
  --live_;
  drop_answered_front();
  return callback;
}

// Answered entries are removed once nothing older is still pending. One
// request stuck until its deadline would keep every later one behind it, so
// when answered entries far outnumber pending ones they are swept out
// (linear, but at most once per kSweepSlack answers).
void PendingRequests::drop_answered_front() {
  while (!entries_.empty() && !entries_.front().callback) entries_.pop_front();
  static constexpr std::size_t kSweepSlack = 4096;
  if (entries_.size() > 2 * live_ + kSweepSlack) {
    std::erase_if(entries_, [](const Entry& e) { return !e.callback; });
  }
}

void PendingRequests::expire(std::uint64_t now_ms) {
  while (!deadlines_.empty() && deadlines_.front().first <= now_ms) {
    const std::uint64_t id = deadlines_.front().second;
    deadlines_.pop_front();
    if (RequestCallback callback = take(id)) {
      callback({RequestStatus::kTimeout, 0, "request timed out; the outcome is unknown"});
    }
  }
}

void PendingRequests::fail_all(const RequestResult& result) {
  // Callbacks may add requests; answer a stable copy.
  std::vector<RequestCallback> callbacks;
  callbacks.reserve(live_);
  for (Entry& entry : entries_) {
    if (entry.callback) callbacks.push_back(std::move(entry.callback));
  }
  entries_.clear();
  deadlines_.clear();
  live_ = 0;
  for (auto& callback : callbacks) callback(result);
}

void ReadsAwaitingApply::add(std::uint64_t read_index, std::uint64_t id) {
  if (waiting_.empty() || waiting_.back().first <= read_index) {
    waiting_.emplace_back(read_index, id);
    return;
  }
  // After equal indexes, as a multimap would keep them.
  const auto it =
      std::upper_bound(waiting_.begin(), waiting_.end(), read_index,
                       [](std::uint64_t v, const std::pair<std::uint64_t, std::uint64_t>& w) {
                         return v < w.first;
                       });
  waiting_.emplace(it, read_index, id);
}

void ReadsAwaitingApply::release_up_to(
    std::uint64_t applied, const std::function<void(std::uint64_t, std::uint64_t)>& release) {
  while (!waiting_.empty() && waiting_.front().first <= applied) {
    const auto [index, id] = waiting_.front();
    waiting_.pop_front();
    release(id, index);
  }
}

}  // namespace raftkv::daemon
