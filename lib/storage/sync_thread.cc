#include "storage/sync_thread.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace raftkv::storage {

struct SyncThread::Shared {
  struct Job {
    Work work;
    After after;
  };

  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Job> queue;    // guarded by mutex: waiting for the thread
  std::vector<After> done;  // guarded by mutex: work finished, after not yet run
  bool stopping = false;    // guarded by mutex
  int event_fd = -1;
  uv_poll_t poll{};
  std::size_t outstanding = 0;  // loop thread only: submitted, after not yet run
  // The loop's reference, held until the poll handle's close callback.
  std::shared_ptr<Shared> handle_ref;

  ~Shared() {
    if (event_fd >= 0) ::close(event_fd);
  }
};

SyncThread::SyncThread(uv_loop_t* loop) {
  auto shared = std::make_shared<Shared>();
  shared->event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (shared->event_fd < 0) return;
  if (uv_poll_init(loop, &shared->poll, shared->event_fd) != 0) return;
  shared->poll.data = shared.get();
  shared->handle_ref = shared;
  uv_poll_start(&shared->poll, UV_READABLE, on_event);
  uv_unref(reinterpret_cast<uv_handle_t*>(&shared->poll));  // idle: keep no loop alive
  try {
    std::thread(run, shared).detach();
  } catch (const std::system_error&) {
    uv_close(reinterpret_cast<uv_handle_t*>(&shared->poll),
             [](uv_handle_t* handle) { static_cast<Shared*>(handle->data)->handle_ref.reset(); });
    return;
  }
  shared_ = std::move(shared);
}

SyncThread::~SyncThread() {
  if (shared_ == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->stopping = true;
    shared_->queue.clear();
  }
  shared_->wake.notify_one();
  uv_close(reinterpret_cast<uv_handle_t*>(&shared_->poll),
           [](uv_handle_t* handle) { static_cast<Shared*>(handle->data)->handle_ref.reset(); });
}

void SyncThread::submit(Work work, After after) {
  if (shared_->outstanding++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(&shared_->poll));
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->queue.push_back({std::move(work), std::move(after)});
  }
  shared_->wake.notify_one();
}

void SyncThread::run(std::shared_ptr<Shared> shared) {
  for (;;) {
    Shared::Job job;
    {
      std::unique_lock<std::mutex> lock(shared->mutex);
      shared->wake.wait(lock, [&] { return shared->stopping || !shared->queue.empty(); });
      if (shared->stopping) return;
      job = std::move(shared->queue.front());
      shared->queue.pop_front();
    }
    job.work();
    {
      std::lock_guard<std::mutex> lock(shared->mutex);
      if (shared->stopping) return;
      shared->done.push_back(std::move(job.after));
    }
    const std::uint64_t one = 1;
    while (::write(shared->event_fd, &one, sizeof one) < 0 && errno == EINTR) {
    }
  }
}

void SyncThread::on_event(uv_poll_t* poll, int /*status*/, int /*events*/) {
  auto* shared = static_cast<Shared*>(poll->data);
  std::uint64_t count = 0;
  while (::read(shared->event_fd, &count, sizeof count) < 0 && errno == EINTR) {
  }
  std::vector<After> ready;
  {
    std::lock_guard<std::mutex> lock(shared->mutex);
    if (shared->stopping) return;
    ready.swap(shared->done);
  }
  shared->outstanding -= ready.size();
  if (shared->outstanding == 0) uv_unref(reinterpret_cast<uv_handle_t*>(&shared->poll));
  // An `after` may destroy the SyncThread: the handle (and `shared`) stays
  // valid until its close callback, but no further callback may run.
  const std::shared_ptr<Shared> keep = shared->handle_ref;
  for (After& after : ready) {
    {
      std::lock_guard<std::mutex> lock(shared->mutex);
      if (shared->stopping) return;
    }
    after();
  }
}

}  // namespace raftkv::storage
