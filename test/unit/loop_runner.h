// A libuv loop per test, run until a condition holds or a deadline passes
// (no sleeps). The destructor drains what is still in flight (threadpool
// jobs, closing handles) and checks that every handle was closed.
#pragma once

#include <uv.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>

namespace raftkv::test {

class LoopRunner {
 public:
  LoopRunner() { uv_loop_init(&loop_); }
  ~LoopRunner() {
    uv_run(&loop_, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop_) == 0);
  }
  LoopRunner(const LoopRunner&) = delete;
  LoopRunner& operator=(const LoopRunner&) = delete;

  uv_loop_t* get() { return &loop_; }

  // Runs the loop until `done()` or `timeout_ms` of loop time passed;
  // returns done().
  bool run_until(const std::function<bool()>& done, std::uint64_t timeout_ms = 20000) {
    uv_update_time(&loop_);
    const std::uint64_t deadline = uv_now(&loop_) + timeout_ms;
    uv_timer_t tick;
    uv_timer_init(&loop_, &tick);
    // Wakes the loop every 5 ms so that the deadline gets checked.
    uv_timer_start(
        &tick, [](uv_timer_t*) {}, 5, 5);
    while (!done() && uv_now(&loop_) < deadline) uv_run(&loop_, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    return done();
  }

 private:
  uv_loop_t loop_{};
};

}  // namespace raftkv::test
