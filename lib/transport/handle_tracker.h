// Counts the libuv handles a transport has initialised and not yet seen the
// close callback of, so that Transport::close() can report completion only
// once every handle's memory is released (uv_close is asynchronous: memory
// of a handle may be freed only in its close callback).
#pragma once

#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

namespace raftkv::transport {

class HandleTracker {
 public:
  // Call right after every successful uv_*_init.
  void opened() { ++live_; }

  // Call at the end of every close callback (after freeing the handle).
  void closed() {
    --live_;
    if (live_ == 0) run_waiters();
  }

  // Runs `done` once no handle is live: at once when none is, otherwise from
  // the last close callback.
  void when_all_closed(std::function<void()> done) {
    waiters_.push_back(std::move(done));
    if (live_ == 0) run_waiters();
  }

  std::size_t live() const { return live_; }

 private:
  void run_waiters() {
    // A waiter may register another waiter or destroy the transport: move the
    // list out before running anything.
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& waiter : waiters) waiter();
  }

  std::size_t live_ = 0;
  std::vector<std::function<void()>> waiters_;
};

}  // namespace raftkv::transport
