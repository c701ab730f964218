#include "daemon/pending_requests.h"

#include <vector>

namespace raftkv::daemon {

void PendingRequests::add(std::uint64_t id, std::uint64_t deadline_ms, RequestCallback callback) {
  callbacks_.emplace(id, std::move(callback));
  deadlines_.emplace_back(deadline_ms, id);
}

RequestCallback PendingRequests::take(std::uint64_t id) {
  const auto it = callbacks_.find(id);
  if (it == callbacks_.end()) return {};
  RequestCallback callback = std::move(it->second);
  callbacks_.erase(it);
  return callback;
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
  callbacks.reserve(callbacks_.size());
  for (auto& [id, callback] : callbacks_) callbacks.push_back(std::move(callback));
  callbacks_.clear();
  deadlines_.clear();
  for (auto& callback : callbacks) callback(result);
}

void ReadsAwaitingApply::release_up_to(
    std::uint64_t applied, const std::function<void(std::uint64_t, std::uint64_t)>& release) {
  while (!waiting_.empty() && waiting_.begin()->first <= applied) {
    const auto [index, id] = *waiting_.begin();
    waiting_.erase(waiting_.begin());
    release(id, index);
  }
}

}  // namespace raftkv::daemon
