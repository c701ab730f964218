#include "storage/fs_request.h"

#include <unistd.h>

#include <cerrno>

namespace raftkv::storage::fs {
namespace {

// Heap-allocated state of one operation; freed on completion.
struct Request {
  uv_fs_t fs{};
  uv_work_t work{};
  uv_loop_t* loop = nullptr;
  Token token;
  Callback done;
  bool is_open = false;
  // write_all state: `bytes` is `data` or `*shared`
  std::string data;
  std::shared_ptr<const std::string> shared;
  const std::string* bytes = &data;
  std::size_t written = 0;
  std::int64_t offset = 0;
  uv_file fd = -1;
  std::int64_t deferred_result = 0;
};

Request* make_request(uv_loop_t* loop, Token token, Callback done) {
  auto* request = new Request;
  request->loop = loop;
  request->token = std::move(token);
  request->done = std::move(done);
  request->fs.data = request;
  request->work.data = request;
  return request;
}

// Hands `result` to the owner if it still exists, then frees the request.
void complete(Request* request, std::int64_t result) {
  std::unique_ptr<Request> owned(request);
  if (request->token.expired()) {
    if (request->is_open && result >= 0) {
      uv_fs_t close_req;
      uv_fs_close(nullptr, &close_req, static_cast<uv_file>(result), nullptr);
      uv_fs_req_cleanup(&close_req);
    }
    return;
  }
  Callback done = std::move(request->done);
  owned.reset();
  done(result);
}

void on_fs_done(uv_fs_t* req) {
  auto* request = static_cast<Request*>(req->data);
  const std::int64_t result = req->result;
  uv_fs_req_cleanup(req);
  complete(request, result);
}

// Check a synchronous submission error (uv_fs_* returns < 0 if it could not
// even queue the request); report it asynchronously like any other.
void submitted(Request* request, int rc) {
  if (rc >= 0) return;
  Callback done = std::move(request->done);
  Token token = std::move(request->token);
  uv_loop_t* loop = request->loop;
  delete request;
  defer(loop, std::move(token), rc, std::move(done));
}

void submit_write(Request* request);

void on_write_done(uv_fs_t* req) {
  auto* request = static_cast<Request*>(req->data);
  const std::int64_t result = req->result;
  uv_fs_req_cleanup(req);
  if (result < 0) return complete(request, result);
  request->written += static_cast<std::size_t>(result);
  if (request->written >= request->bytes->size()) return complete(request, 0);
  if (result == 0) return complete(request, UV_EIO);  // no progress: give up
  submit_write(request);
}

void submit_write(Request* request) {
  const std::size_t left = request->bytes->size() - request->written;
  // libuv's buffers are not const, but a write only reads them.
  char* from = const_cast<char*>(request->bytes->data()) + request->written;
  uv_buf_t buf = uv_buf_init(from, static_cast<unsigned>(left));
  const std::int64_t at = request->offset + static_cast<std::int64_t>(request->written);
  submitted(request,
            uv_fs_write(request->loop, &request->fs, request->fd, &buf, 1, at, on_write_done));
}

void work_nothing(uv_work_t*) {}

void on_deferred(uv_work_t* work, int /*status*/) {
  auto* request = static_cast<Request*>(work->data);
  complete(request, request->deferred_result);
}

// One write_and_sync(): runs on a worker thread, then on the loop.
struct WriteSyncJob {
  uv_work_t work{};
  Token token;
  WriteSyncCallback done;
  std::shared_ptr<const std::string> data;
  std::int64_t offset = 0;
  uv_file fd = -1;
  WriteSyncResult result;
};

// pwrite() until every byte is in, as write_all() does with its resubmits.
std::int64_t pwrite_all(uv_file fd, const std::string& data, std::int64_t offset) {
  std::size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::pwrite(fd, data.data() + written, data.size() - written,
                               offset + static_cast<std::int64_t>(written));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) return UV_EIO;  // no progress: give up
    written += static_cast<std::size_t>(n);
  }
  return 0;
}

void work_write_sync(uv_work_t* work) {
  auto* job = static_cast<WriteSyncJob*>(work->data);
  job->result.write = pwrite_all(job->fd, *job->data, job->offset);
  if (job->result.write < 0) return;
  const std::uint64_t start = uv_hrtime();
  int rc = 0;
  do {
    rc = ::fdatasync(job->fd);
  } while (rc != 0 && errno == EINTR);
  job->result.synced = true;
  job->result.sync = rc == 0 ? 0 : -errno;
  job->result.sync_ns = uv_hrtime() - start;
}

void after_write_sync(uv_work_t* work, int status) {
  std::unique_ptr<WriteSyncJob> job(static_cast<WriteSyncJob*>(work->data));
  if (job->token.expired()) return;
  // UV_ECANCELED: the job never ran; report it as a failed write.
  if (status < 0) job->result = WriteSyncResult{status, false, 0, 0};
  WriteSyncCallback done = std::move(job->done);
  const WriteSyncResult result = job->result;
  job.reset();
  done(result);
}

}  // namespace

void write_and_sync(uv_loop_t* loop, Token token, uv_file fd,
                    std::shared_ptr<const std::string> data, std::int64_t offset,
                    WriteSyncCallback done) {
  auto* job = new WriteSyncJob;
  job->work.data = job;
  job->token = std::move(token);
  job->done = std::move(done);
  job->data = std::move(data);
  job->offset = offset;
  job->fd = fd;
  if (const int rc = uv_queue_work(loop, &job->work, work_write_sync, after_write_sync); rc < 0) {
    // Only on a stopped loop; answered later like any other failure.
    WriteSyncCallback failed = std::move(job->done);
    Token owner = std::move(job->token);
    delete job;
    defer(loop, std::move(owner), rc, [failed](std::int64_t code) {
      failed(WriteSyncResult{code, false, 0, 0});
    });
  }
}

void open(uv_loop_t* loop, Token token, const std::string& path, int flags, int mode,
          Callback done) {
  Request* request = make_request(loop, std::move(token), std::move(done));
  request->is_open = true;
  submitted(request, uv_fs_open(loop, &request->fs, path.c_str(), flags, mode, on_fs_done));
}

void write_all(uv_loop_t* loop, Token token, uv_file fd, std::string data, std::int64_t offset,
               Callback done) {
  Request* request = make_request(loop, std::move(token), std::move(done));
  request->data = std::move(data);
  request->fd = fd;
  request->offset = offset;
  submit_write(request);
}

void write_all(uv_loop_t* loop, Token token, uv_file fd, std::shared_ptr<const std::string> data,
               std::int64_t offset, Callback done) {
  Request* request = make_request(loop, std::move(token), std::move(done));
  request->shared = std::move(data);
  request->bytes = request->shared.get();
  request->fd = fd;
  request->offset = offset;
  submit_write(request);
}

void fdatasync(uv_loop_t* loop, Token token, uv_file fd, Callback done) {
  Request* request = make_request(loop, std::move(token), std::move(done));
  submitted(request, uv_fs_fdatasync(loop, &request->fs, fd, on_fs_done));
}

void fsync(uv_loop_t* loop, Token token, uv_file fd, Callback done) {
  Request* request = make_request(loop, std::move(token), std::move(done));
  submitted(request, uv_fs_fsync(loop, &request->fs, fd, on_fs_done));
}

void close(uv_loop_t* loop, Token token, uv_file fd, Callback done) {
  Request* request = make_request(loop, std::move(token), std::move(done));
  submitted(request, uv_fs_close(loop, &request->fs, fd, on_fs_done));
}

void rename(uv_loop_t* loop, Token token, const std::string& from, const std::string& to,
            Callback done) {
  Request* request = make_request(loop, std::move(token), std::move(done));
  submitted(request, uv_fs_rename(loop, &request->fs, from.c_str(), to.c_str(), on_fs_done));
}

void unlink(uv_loop_t* loop, Token token, const std::string& path, Callback done) {
  Request* request = make_request(loop, std::move(token), std::move(done));
  submitted(request, uv_fs_unlink(loop, &request->fs, path.c_str(), on_fs_done));
}

void ftruncate(uv_loop_t* loop, Token token, uv_file fd, std::int64_t size, Callback done) {
  Request* request = make_request(loop, std::move(token), std::move(done));
  submitted(request, uv_fs_ftruncate(loop, &request->fs, fd, size, on_fs_done));
}

void defer(uv_loop_t* loop, Token token, std::int64_t result, Callback done) {
  Request* request = make_request(loop, std::move(token), std::move(done));
  request->deferred_result = result;
  // A no-op threadpool job: its after-callback runs on the loop later.
  const int rc = uv_queue_work(loop, &request->work, work_nothing, on_deferred);
  if (rc < 0) complete(request, rc);  // only on a stopped loop; nothing better to do
}

struct Timer::Handle {
  uv_timer_t timer{};
  std::function<void()> done;
  bool pending = false;
};

void Timer::start(std::uint64_t delay_ms, std::function<void()> done) {
  if (handle_ == nullptr) {
    handle_ = new Handle;
    uv_timer_init(loop_, &handle_->timer);
    handle_->timer.data = handle_;
  }
  handle_->done = std::move(done);
  handle_->pending = true;
  uv_timer_start(
      &handle_->timer,
      [](uv_timer_t* timer) {
        auto* handle = static_cast<Handle*>(timer->data);
        handle->pending = false;
        // Moved out first: `done` may start the timer again.
        std::function<void()> run = std::move(handle->done);
        if (run) run();
      },
      delay_ms, 0);
}

void Timer::stop() {
  if (handle_ == nullptr) return;
  uv_timer_stop(&handle_->timer);
  handle_->pending = false;
  handle_->done = nullptr;
}

bool Timer::pending() const {
  return handle_ != nullptr && handle_->pending;
}

void Timer::close() {
  if (handle_ == nullptr) return;
  stop();
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_->timer),
           [](uv_handle_t* timer) { delete static_cast<Handle*>(timer->data); });
  handle_ = nullptr;
}

}  // namespace raftkv::storage::fs
