// Client requests waiting on Raft: writes wait for their entry to be
// applied, linearizable reads for their read index to be confirmed and then
// applied. Each has a deadline; when it passes the request is answered as
// timed out (HTTP 504: the outcome of a write is then unknown).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <utility>

namespace raftkv::daemon {

// Outcome categories shared by writes and reads.
enum class RequestStatus {
  kOk,                  // write applied / read may be served now
  kNotFound,            // delete of an absent key
  kPreconditionFailed,  // CAS or create did not apply
  kUnavailable,         // not applied and never will be (HTTP 503)
  kTimeout,             // outcome unknown (HTTP 504)
};

struct RequestResult {
  RequestStatus status = RequestStatus::kOk;
  std::uint64_t index = 0;  // log index of the applied write / read index
  const char* reason = "";  // for errors, a short static message
};

using RequestCallback = std::function<void(const RequestResult&)>;

// Every client request passes through here, so it allocates nothing per
// request once its queues have grown: requests are kept in a deque in the
// order of their ids (ids come from a counter, so adding is a push_back),
// found by binary search and dropped from the front once answered -- where
// a hash map allocated a node per request.
class PendingRequests {
 public:
  void add(std::uint64_t id, std::uint64_t deadline_ms, RequestCallback callback);
  // Removes and returns the callback of `id` (empty if it is not pending,
  // e.g. it already timed out).
  RequestCallback take(std::uint64_t id);
  bool contains(std::uint64_t id) const;
  // Answers every request whose deadline is at or before `now_ms`.
  void expire(std::uint64_t now_ms);
  // Answers every pending request with `result` (shutdown, fatal error).
  void fail_all(const RequestResult& result);
  std::size_t size() const { return live_; }

 private:
  struct Entry {
    std::uint64_t id;
    RequestCallback callback;  // empty once answered
  };
  // The first entry whose id is not below `id` (entries_ is sorted).
  std::deque<Entry>::iterator position(std::uint64_t id);
  Entry* find(std::uint64_t id);
  void drop_answered_front();

  std::deque<Entry> entries_;  // ascending ids; answered ones linger until at the front
  std::size_t live_ = 0;       // entries with a callback
  // Deadlines are added in non-decreasing order (one timeout for all), so a
  // FIFO is enough; entries already answered are skipped when they surface.
  std::deque<std::pair<std::uint64_t, std::uint64_t>> deadlines_;  // (deadline, id)
};

// Confirmed reads waiting for the state machine to reach their index. Read
// indexes arrive in non-decreasing order nearly always, so a deque sorted by
// index (insertion from the back) replaces a multimap's node per read.
class ReadsAwaitingApply {
 public:
  void add(std::uint64_t read_index, std::uint64_t id);
  // Calls `release(id, read_index)` for every read with index <= applied,
  // in index order (reads of equal index in the order they were added).
  void release_up_to(std::uint64_t applied,
                     const std::function<void(std::uint64_t, std::uint64_t)>& release);

 private:
  std::deque<std::pair<std::uint64_t, std::uint64_t>> waiting_;  // (read index, id)
};

}  // namespace raftkv::daemon
