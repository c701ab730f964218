// A thread of the log's own for its segment writes and fdatasyncs, which
// reports completions through an eventfd the loop polls.
//
// Why not libuv's threadpool: libuv (1.44) wakes the loop with
// uv_async_send(), and the loop, woken on the other core while the worker
// is still inside uv_async_send(), busy-waits for it (uv__async_spin, then
// sched_yield). Measured on a follower under write load on 2 shared cores:
// 15-20% of its CPU in that spin, plus the threadpool's mutex and condition
// traffic (issue 7). Here the worker only pushes the completion under a
// mutex and writes the eventfd; the loop reads it and runs the callbacks.
//
// One job at a time, in submission order. The eventfd handle keeps the loop
// alive only while jobs are outstanding (like libuv's own requests).
// Destroying the SyncThread (on the loop's thread) stops it after the job it
// is running, if any, without waiting for it: callbacks not yet run never
// run, and the thread frees what it shares with the loop when it exits.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>

namespace raftkv::storage {

class SyncThread {
 public:
  using Work = std::function<void()>;   // runs on the thread
  using After = std::function<void()>;  // runs on the loop once Work returned

  // Starts the thread; started() is false if it (or its eventfd) could not
  // be created.
  explicit SyncThread(uv_loop_t* loop);
  ~SyncThread();
  SyncThread(const SyncThread&) = delete;
  SyncThread& operator=(const SyncThread&) = delete;

  bool started() const { return shared_ != nullptr; }
  // Runs `work` on the thread, then `after` on the loop. Requires started().
  void submit(Work work, After after);

 private:
  struct Shared;
  static void run(std::shared_ptr<Shared> shared);
  static void on_event(uv_poll_t* poll, int status, int events);

  std::shared_ptr<Shared> shared_;
};

}  // namespace raftkv::storage
