// One-shot asynchronous file operations on the libuv threadpool, each with
// one owner and one completion path (field notes 2.3, libuv discipline).
//
// Every call takes a `Token`: a weak reference to the owner's liveness. If
// the owner is gone when the operation completes, the callback is skipped
// (and a file opened meanwhile is closed), so a Wal destroyed with work in
// flight never sees a callback into freed memory. Buffers being written are
// owned by the request itself for the same reason.
//
// Results: >= 0 on success (an fd for open, 0 otherwise), or a negative
// errno (libuv's UV_E* values are -errno on Unix).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace raftkv::storage::fs {

using Token = std::weak_ptr<void>;
using Callback = std::function<void(std::int64_t result)>;

void open(uv_loop_t* loop, Token token, const std::string& path, int flags, int mode,
          Callback done);
// Writes all of `data` at `offset`, resubmitting after short writes.
void write_all(uv_loop_t* loop, Token token, uv_file fd, std::string data, std::int64_t offset,
               Callback done);
// The same for bytes the caller may need again (a write retried after
// running out of space): shared, not copied.
void write_all(uv_loop_t* loop, Token token, uv_file fd, std::shared_ptr<const std::string> data,
               std::int64_t offset, Callback done);
void fdatasync(uv_loop_t* loop, Token token, uv_file fd, Callback done);

// What write_and_sync() did: `write` is 0 or the write's negative errno;
// `sync` (only attempted after a complete write: `synced`) is 0 or the
// fdatasync's negative errno, and `sync_ns` its duration.
struct WriteSyncResult {
  std::int64_t write = 0;
  bool synced = false;
  std::int64_t sync = 0;
  std::uint64_t sync_ns = 0;
};
using WriteSyncCallback = std::function<void(const WriteSyncResult& result)>;
// write_all() then fdatasync() as ONE threadpool job: one hand-off to a
// worker and one completion back to the loop per batch instead of two
// (each costs mutex/futex traffic, an eventfd write and read, and a loop
// wake-up; measured as the largest share of a follower's CPU, issue 7).
void write_and_sync(uv_loop_t* loop, Token token, uv_file fd,
                    std::shared_ptr<const std::string> data, std::int64_t offset,
                    WriteSyncCallback done);
void fsync(uv_loop_t* loop, Token token, uv_file fd, Callback done);
void close(uv_loop_t* loop, Token token, uv_file fd, Callback done);
void rename(uv_loop_t* loop, Token token, const std::string& from, const std::string& to,
            Callback done);
void unlink(uv_loop_t* loop, Token token, const std::string& path, Callback done);
// Cuts the file at `size` (a write that failed half way is undone).
void ftruncate(uv_loop_t* loop, Token token, uv_file fd, std::int64_t size, Callback done);

// Runs `done(result)` on the loop in a later iteration (never re-entrantly).
void defer(uv_loop_t* loop, Token token, std::int64_t result, Callback done);

// A restartable one-shot timer owned by one object. The libuv handle is
// created on the first start() (a Timer never started needs no loop
// iteration to go away) and closed by close() or the destructor; the loop
// frees it.
class Timer {
 public:
  explicit Timer(uv_loop_t* loop) : loop_(loop) {}
  ~Timer() { close(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Runs `done` on the loop after `delay_ms` (replacing a pending run).
  void start(std::uint64_t delay_ms, std::function<void()> done);
  void stop();
  bool pending() const;
  void close();

 private:
  struct Handle;
  uv_loop_t* loop_;
  Handle* handle_ = nullptr;
};

}  // namespace raftkv::storage::fs
