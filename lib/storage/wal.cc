// The asynchronous writer of the write-ahead log.
//
// Happy path
//   write() folds its hard state and entries into `pending_` (batch.h) and,
//   if nothing is in flight, starts a flush at once. A flush turns the
//   pending batch into a plan (the newest hard state; segments to delete;
//   chunks of records per segment file) and runs it as a chain of libuv
//   threadpool steps, strictly one after another:
//     1. hard state: open hardstate.tmp, write, fdatasync, close, rename over
//        hardstate, fsync the directory. First, so that a durable entry is
//        never newer than the durable term.
//     2. truncation below the active segment: close it, unlink every segment
//        whose first index is >= the new first index (newest first), fsync
//        the directory. A reset does the same to every segment.
//     3. per chunk: [close the old active segment, open a new segment file
//        (O_EXCL)], pwrite the bytes and fdatasync (one threadpool job),
//        [fsync the directory].
//     4. compaction: unlink the closed segments wholly at or below the
//        compaction index (oldest first), fsync the directory.
//   Then every callback of the batch runs, in order, with its status.
//   Writes arriving meanwhile wait in `pending_`; when the batch completes
//   they all go out as the next batch: one write + one fdatasync for any
//   number of write() calls (group commit). Only one batch is ever in
//   flight, so requests on one file are never reordered by the threadpool
//   (field notes 3.2).
//
// Failure modes
//   - Out of space (ENOSPC or EDQUOT) on a step that only hands bytes or
//     names to the kernel -- an open or create, a write, a rename -- and
//     before any fdatasync of those bytes: the disk-full state. A segment
//     write is cut back (ftruncate) to where it started, which every
//     earlier batch made durable, so no partial record stays and its
//     blocks are given back. The same step is then retried after
//     full_retry_first_ms, doubling up to full_retry_max_ms, until it goes
//     through; the rest of the batch follows and its callbacks run as
//     usual. Nothing is failed meanwhile: writes queue in `pending_`, the
//     daemon sees disk_full() and refuses new client writes itself. Safe
//     because nothing of the batch was ever reported written: the kernel
//     refused the bytes, so no page the page cache might drop unsynced is
//     involved (unlike a failed fdatasync, below).
//   - Any other failure (EIO anywhere, ENOSPC from fdatasync or fsync, a
//     failed close): the Wal enters the failed state. The in-flight batch
//     and every pending write fail with that error, and so does every later
//     write, at once (in a later loop iteration). Nothing is retried: after
//     a failed fdatasync the page cache may have dropped the dirty pages,
//     so a retry could "succeed" without the data (fsyncgate). Durable data
//     is never touched again; a partial record at the tail is cut off by
//     recovery at the next open as a torn tail. The daemon stops (exit 1)
//     and recovers from what is on disk when restarted.
//   - The process dies mid-batch: recovery sees a torn tail (repaired), an
//     empty new segment (removed) or a leftover hardstate.tmp (removed);
//     unlinks of obsolete segments are made durable before any record that
//     relies on them being gone is written.
//   - The Wal is destroyed with work in flight: callbacks are skipped (their
//     token expired); file descriptors in use by the threadpool are leaked
//     rather than closed under its feet.
#include "storage/wal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "storage/file_util.h"
#include "storage/hard_state_file.h"
#include "storage/segment.h"
#include "util/log.h"

namespace raftkv::storage {
namespace {

// Opens and locks the directory: two daemons on one data dir would
// interleave appends and destroy the log.
int lock_dir(const std::string& dir, std::string* error) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    *error = dir + ": cannot open data directory: " + errno_text(errno);
    return -1;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    *error = dir + ": data directory is locked by another process: " + errno_text(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string describe(int status) {
  // libuv has no name for some errnos (EDQUOT): strerror and the errno
  // name then.
  if (status == -EDQUOT) return errno_text(status) + " (EDQUOT)";
  return std::string(uv_strerror(status)) + " (" + uv_err_name(status) + ")";
}

// libuv errors are -errno on Unix.
bool out_of_space(std::int64_t status) {
  return status == -ENOSPC || status == -EDQUOT;
}

}  // namespace

std::unique_ptr<Wal> Wal::open(uv_loop_t* loop, const std::string& dir, WalOptions options,
                               RecoveredState* recovered, std::string* error, SnapshotSink* sink) {
  if (const int rc = make_dirs(dir); rc != 0) {
    *error = dir + ": cannot create data directory: " + errno_text(rc);
    return nullptr;
  }
  const int dir_fd = lock_dir(dir, error);
  if (dir_fd < 0) return nullptr;
  LogLayout layout;
  if (!recover_dir(dir, recovered, &layout, error, sink)) {
    ::close(dir_fd);
    return nullptr;
  }
  int active_fd = -1;
  if (!layout.segment_firsts.empty()) {
    const std::string path = join_path(dir, segment_file_name(layout.segment_firsts.back()));
    active_fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (active_fd < 0) {
      *error = path + ": cannot open for writing: " + errno_text(errno);
      ::close(dir_fd);
      return nullptr;
    }
  }
  RKV_INFO(
      "storage", "%s: recovered term %llu, vote %llu, snapshot through %llu, %zu entries",
      dir.c_str(), static_cast<unsigned long long>(recovered->hard_state.term()),
      static_cast<unsigned long long>(recovered->hard_state.vote()),
      static_cast<unsigned long long>(recovered->snapshot ? recovered->snapshot->meta.index() : 0),
      recovered->entries.size());
  return std::unique_ptr<Wal>(new Wal(loop, dir, options, dir_fd, active_fd, layout));
}

Wal::Wal(uv_loop_t* loop, std::string dir, WalOptions options, int dir_fd, int active_fd,
         const LogLayout& layout)
    : loop_(loop),
      dir_(std::move(dir)),
      options_(options),
      dir_fd_(dir_fd),
      active_fd_(active_fd),
      segment_firsts_(layout.segment_firsts),
      active_bytes_(layout.last_segment_bytes),
      pending_(layout.last_index, layout.first_writable),
      retry_timer_(loop) {
  for (std::size_t i = 0; i < layout.segment_firsts.size(); ++i) {
    segment_bytes_[layout.segment_firsts[i]] = layout.segment_bytes[i];
  }
  update_log_bytes();
}

Wal::~Wal() {
  if (in_flight_ || !closing_fds_.empty()) {
    RKV_ERROR("storage", "%s: log destroyed with I/O in flight", dir_.c_str());
    return;
  }
  for (int fd : {tmp_fd_, active_fd_, dir_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

std::string Wal::segment_path(std::uint64_t first_index) const {
  return join_path(dir_, segment_file_name(first_index));
}

void Wal::write(std::optional<pb::HardState> hard_state, std::vector<SharedEntry> entries,
                Done done) {
  if (refuse_if_stopped(done)) return;
  const int status = pending_.add(std::move(hard_state), std::move(entries));
  enqueue(std::move(done), status);
}

void Wal::write(std::optional<pb::HardState> hard_state, std::vector<pb::Entry> entries,
                Done done) {
  std::vector<SharedEntry> shared;
  shared.reserve(entries.size());
  for (pb::Entry& entry : entries) {
    shared.push_back(std::make_shared<const pb::Entry>(std::move(entry)));
  }
  write(std::move(hard_state), std::move(shared), std::move(done));
}

void Wal::compact(std::uint64_t upto, Done done) {
  if (refuse_if_stopped(done)) return;
  pending_.compact(upto);
  enqueue(std::move(done), 0);
}

void Wal::reset(std::uint64_t snapshot_index, Done done) {
  if (refuse_if_stopped(done)) return;
  pending_.reset(snapshot_index);
  enqueue(std::move(done), 0);
}

bool Wal::refuse_if_stopped(Done& done) {
  if (failed_) {
    reject(std::move(done), failure_status_);
    return true;
  }
  if (!closing_) return false;
  // Keep submission order: behind the writes still draining, if any.
  if (in_flight_) {
    pending_dones_.emplace_back(std::move(done), UV_ECANCELED);
  } else {
    reject(std::move(done), UV_ECANCELED);
  }
  return true;
}

void Wal::enqueue(Done done, int status) {
  pending_dones_.emplace_back(std::move(done), status);
  if (!in_flight_) start_flush();
}

void Wal::reject(Done done, int status) {
  ++metrics_.failed_writes;
  rejected_.emplace_back(std::move(done), status);
  if (rejecting_) return;
  rejecting_ = true;
  // One deferral at a time keeps the rejected callbacks in order.
  fs::defer(loop_, alive_, 0, [this](std::int64_t) {
    rejecting_ = false;
    std::vector<Queued> batch = std::move(rejected_);
    rejected_.clear();
    for (auto& [callback, code] : batch) {
      if (callback) callback(code);
    }
  });
}

void Wal::start_flush() {
  in_flight_ = true;
  batch_started_ms_ = uv_now(loop_);
  flight_dones_ = std::move(pending_dones_);
  pending_dones_.clear();
  PendingBatch batch = std::move(pending_);
  pending_ = PendingBatch(batch.last_index(), batch.first_writable());
  plan_ = plan_batch(batch, segment_firsts_, active_bytes_, options_.segment_bytes);
  steps_.clear();
  if (plan_.hard_state) add_hard_state_steps(*plan_.hard_state);
  if (!plan_.delete_segments.empty()) add_delete_steps();
  for (SegmentChunk& chunk : plan_.chunks) add_chunk_steps(chunk);
  if (!plan_.compact_segments.empty()) add_compact_steps();
  if (steps_.empty()) {
    // Nothing to write (invalid or empty writes): still answer asynchronously.
    steps_.push_back([this](fs::Callback next) {
      step_what_ = dir_;
      fs::defer(loop_, alive_, 0, std::move(next));
    });
  }
  run_next_step();
}

void Wal::add_hard_state_steps(const pb::HardState& state) {
  const std::string tmp = join_path(dir_, kHardStateTmpName);
  const std::string path = join_path(dir_, kHardStateName);
  steps_.push_back([this, tmp](fs::Callback next) {
    step_what_ = tmp + ": open";
    step_retryable_ = true;
    fs::open(loop_, alive_, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644,
             [this, next](std::int64_t fd) {
               if (fd >= 0) tmp_fd_ = static_cast<int>(fd);
               next(fd < 0 ? fd : 0);
             });
  });
  steps_.push_back([this, tmp, bytes = encode_hard_state(state)](fs::Callback next) {
    step_what_ = tmp + ": write";
    step_retryable_ = true;  // rewritten whole at offset 0 on a retry
    metrics_.bytes_written += bytes.size();
    fs::write_all(loop_, alive_, tmp_fd_, bytes, 0, std::move(next));
  });
  add_sync(&tmp_fd_, tmp, false);
  add_close(&tmp_fd_, tmp);
  steps_.push_back([this, tmp, path](fs::Callback next) {
    step_what_ = tmp + ": rename";
    step_retryable_ = true;
    fs::rename(loop_, alive_, tmp, path, [this, next](std::int64_t result) {
      if (result >= 0) ++metrics_.hard_state_writes;
      next(result);
    });
  });
  add_sync(&dir_fd_, dir_, true);
}

void Wal::add_delete_steps() {
  add_close(&active_fd_, segment_path(segment_firsts_.back()));
  const char* why = plan_.reset ? "removing segment: the log is replaced by an installed snapshot"
                                : "removing segment made obsolete by a truncation";
  for (std::uint64_t first : plan_.delete_segments) add_unlink(first, why, nullptr);
  add_sync(&dir_fd_, dir_, true);
}

void Wal::add_compact_steps() {
  for (std::uint64_t first : plan_.compact_segments) {
    add_unlink(first, "removing segment covered by a snapshot", &metrics_.segments_compacted);
  }
  add_sync(&dir_fd_, dir_, true);
}

void Wal::add_unlink(std::uint64_t first, const char* why, std::uint64_t* counter) {
  steps_.push_back([this, first, why, counter](fs::Callback next) {
    const std::string path = segment_path(first);
    step_what_ = path + ": unlink";
    RKV_INFO("storage", "%s: %s", path.c_str(), why);
    fs::unlink(loop_, alive_, path, [this, first, counter, next](std::int64_t result) {
      if (result >= 0) {
        std::erase(segment_firsts_, first);
        segment_bytes_.erase(first);
        update_log_bytes();
        ++metrics_.segments_deleted;
        if (counter != nullptr) ++*counter;
      }
      next(result);
    });
  });
}

void Wal::update_log_bytes() {
  metrics_.log_bytes = 0;
  for (const auto& [first, bytes] : segment_bytes_) metrics_.log_bytes += bytes;
}

void Wal::add_chunk_steps(SegmentChunk& chunk) {
  if (!chunk.new_segment) {
    add_segment_write_and_sync(std::move(chunk.bytes), chunk.offset);
    return;
  }
  const std::uint64_t first = chunk.first_index;
  if (!segment_firsts_.empty() || active_fd_ >= 0) add_close(&active_fd_, "active segment");
  steps_.push_back([this, first](fs::Callback next) {
    const std::string path = segment_path(first);
    step_what_ = path + ": create";
    step_retryable_ = true;
    // O_EXCL: an existing file of that name would be a bug; never clobber.
    fs::open(loop_, alive_, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644,
             [this, first, next](std::int64_t fd) {
               if (fd >= 0) {
                 active_fd_ = static_cast<int>(fd);
                 active_bytes_ = 0;
                 segment_firsts_.push_back(first);
                 segment_bytes_[first] = 0;
                 ++metrics_.segments_created;
               }
               next(fd < 0 ? fd : 0);
             });
  });
  add_segment_write_and_sync(std::move(chunk.bytes), 0);
  add_sync(&dir_fd_, dir_, true);
}

// The records and their fdatasync are one step: retried whole after running
// out of space (only the write can hit that; the fdatasync comes after a
// complete write), and run as one threadpool job (fs::write_and_sync): a
// hand-off to a worker thread and back costs more CPU than the write itself
// (issue 7). The step keeps its bytes (shared with the job, not copied): a
// retry writes them again.
void Wal::add_segment_write_and_sync(std::string data, std::uint64_t offset) {
  auto bytes = std::make_shared<const std::string>(std::move(data));
  steps_.push_back([this, offset, bytes](fs::Callback next) {
    // Armed test faults take the two-request path they were written for.
    if (faults_.fail_next_write != 0 || faults_.fail_next_sync != 0) {
      return write_then_sync(bytes, offset, std::move(next));
    }
    const std::string path = segment_path(segment_firsts_.back());
    step_what_ = path + ": write";
    step_retryable_ = true;
    const std::size_t size = bytes->size();
    const auto at = static_cast<std::int64_t>(offset);
    fs::write_and_sync(loop_, alive_, active_fd_, bytes, at,
                       [this, path, size, at, next](const fs::WriteSyncResult& result) {
                         if (!result.synced)
                           return after_segment_write(result.write, size, at, next);
                         count_segment_bytes(size);
                         step_what_ = path + ": fdatasync";
                         step_retryable_ = false;
                         ++metrics_.fsyncs;
                         metrics_.fsync_latency.observe(result.sync_ns);
                         next(result.sync);
                       });
  });
}

void Wal::write_then_sync(std::shared_ptr<const std::string> bytes, std::uint64_t offset,
                          fs::Callback next) {
  write_segment(std::move(bytes), offset, [this, next](std::int64_t result) {
    if (result < 0) return next(result);
    step_retryable_ = false;
    sync(&active_fd_, segment_path(segment_firsts_.back()), false, next);
  });
}

void Wal::write_segment(std::shared_ptr<const std::string> bytes, std::uint64_t offset,
                        fs::Callback next) {
  step_what_ = segment_path(segment_firsts_.back()) + ": write";
  step_retryable_ = true;
  const std::size_t size = bytes->size();
  const auto at = static_cast<std::int64_t>(offset);
  auto after = [this, size, at, next](std::int64_t result) {
    after_segment_write(result, size, at, next);
  };
  if (const int err = take_write_fault(); err != 0) {
    fs::write_all(loop_, alive_, active_fd_, bytes->substr(0, size / 2), at,
                  [after, err](std::int64_t) { after(-err); });
    return;
  }
  fs::write_all(loop_, alive_, active_fd_, std::move(bytes), at, std::move(after));
}

// Accounts a segment write of `size` bytes at `at` that ended with `result`.
void Wal::after_segment_write(std::int64_t result, std::size_t size, std::int64_t at,
                              const fs::Callback& next) {
  if (out_of_space(result)) {
    // Undo the part that went in: the file ends where this write began.
    fs::ftruncate(loop_, alive_, active_fd_, at,
                  [result, next](std::int64_t cut) { next(cut < 0 ? cut : result); });
    return;
  }
  if (result >= 0) count_segment_bytes(size);
  next(result);
}

// `size` bytes went into the active segment.
void Wal::count_segment_bytes(std::size_t size) {
  active_bytes_ += size;
  segment_bytes_[segment_firsts_.back()] += size;
  update_log_bytes();
  metrics_.bytes_written += size;
}

int Wal::take_write_fault() {
  const int err = faults_.fail_next_write;
  if (err == 0) return 0;
  if (--faults_.fail_write_times <= 0) {
    faults_.fail_next_write = 0;
    faults_.fail_write_times = 1;
  }
  return err;
}

void Wal::add_sync(const int* fd, const std::string& what, bool directory) {
  steps_.push_back([this, fd, what, directory](fs::Callback next) {
    sync(fd, what, directory, std::move(next));
  });
}

void Wal::sync(const int* fd, const std::string& what, bool directory, fs::Callback next) {
  step_what_ = what + (directory ? ": fsync" : ": fdatasync");
  if (directory) {
    ++metrics_.dir_fsyncs;
    return fs::fsync(loop_, alive_, *fd, std::move(next));
  }
  if (fd == &active_fd_) {
    if (const int err = std::exchange(faults_.fail_next_sync, 0); err != 0) {
      return fs::defer(loop_, alive_, -err, std::move(next));
    }
  }
  const std::uint64_t start = uv_hrtime();
  fs::fdatasync(loop_, alive_, *fd, [this, start, next](std::int64_t result) {
    ++metrics_.fsyncs;
    metrics_.fsync_latency.observe(uv_hrtime() - start);
    next(result);
  });
}

void Wal::add_close(int* fd, const std::string& what) {
  steps_.push_back([this, fd, what](fs::Callback next) {
    step_what_ = what + ": close";
    const int old = std::exchange(*fd, -1);
    if (old < 0) return fs::defer(loop_, alive_, 0, std::move(next));
    fs::close(loop_, alive_, old, std::move(next));
  });
}

void Wal::run_next_step() {
  if (steps_.empty()) return finish_batch();
  current_step_ = std::move(steps_.front());
  steps_.pop_front();
  run_current_step();
}

void Wal::run_current_step() {
  step_retryable_ = false;
  current_step_([this](std::int64_t result) {
    if (result < 0 && step_retryable_ && out_of_space(result)) {
      return wait_for_space(static_cast<int>(result));
    }
    if (result < 0) return fail(static_cast<int>(result));
    if (disk_full_) leave_disk_full();
    run_next_step();
  });
}

// Logged once per episode (WARN in, INFO out), not once per retry.
void Wal::wait_for_space(int status) {
  if (closing_) return fail(status);  // nobody is left to wait for space
  const std::uint64_t now = uv_now(loop_);
  if (!disk_full_) {
    disk_full_ = true;
    full_status_ = status;
    full_since_ms_ = now;
    retry_delay_ms_ = options_.full_retry_first_ms;
    ++full_metrics_.episodes;
    RKV_WARN("storage",
             "%s: %s: disk full; the write waits and is retried (every %llu ms, backing off to "
             "%llu ms) until space returns; nothing is acknowledged meanwhile",
             step_what_.c_str(), describe(status).c_str(),
             static_cast<unsigned long long>(options_.full_retry_first_ms),
             static_cast<unsigned long long>(options_.full_retry_max_ms));
  } else {
    retry_delay_ms_ = std::min(retry_delay_ms_ * 2, options_.full_retry_max_ms);
  }
  ++full_metrics_.retries;
  retry_timer_.start(retry_delay_ms_, [this] { run_current_step(); });
}

void Wal::leave_disk_full() {
  disk_full_ = false;
  const std::uint64_t spent = uv_now(loop_) - full_since_ms_;
  full_metrics_.full_ms += spent;
  // The wait for space is over; what the disk does from now on is timed
  // afresh (a stuck-disk check must not count the full episode).
  batch_started_ms_ = uv_now(loop_);
  RKV_INFO("storage", "%s: space is back: the log resumed after %llu ms of disk full", dir_.c_str(),
           static_cast<unsigned long long>(spent));
}

void Wal::finish_batch() {
  in_flight_ = false;
  ++metrics_.batches;
  if (plan_.reset) ++metrics_.log_resets;
  metrics_.entries_written += plan_.entries;
  metrics_.max_entries_per_fsync = std::max(metrics_.max_entries_per_fsync, plan_.entries);
  std::vector<Queued> dones = std::move(flight_dones_);
  flight_dones_.clear();
  // Start the next batch before running callbacks: writes they submit then
  // simply queue behind it. With batch_until_kick, kick() or the next
  // write() starts it instead (WalOptions).
  if (!pending_dones_.empty()) {
    if (!options_.batch_until_kick || closing_) start_flush();
  } else if (closing_) {
    start_close();
  }
  for (auto& [done, status] : dones) {
    if (status == 0)
      ++metrics_.writes;
    else
      ++metrics_.failed_writes;
    if (done) done(status);
  }
}

void Wal::fail(int status) {
  failed_ = true;
  disk_full_ = false;
  failure_status_ = status;
  failure_ = step_what_ + ": " + describe(status);
  RKV_ERROR("storage", "%s; the log refuses all further writes", failure_.c_str());
  in_flight_ = false;
  steps_.clear();
  std::vector<Queued> dones = std::move(flight_dones_);
  flight_dones_.clear();
  for (Queued& queued : pending_dones_) dones.push_back(std::move(queued));
  pending_dones_.clear();
  if (closing_) start_close();
  for (auto& queued : dones) {
    ++metrics_.failed_writes;
    if (queued.first) queued.first(status);
  }
}

void Wal::close(std::function<void()> done) {
  closing_ = true;
  close_done_ = std::move(done);
  if (retry_timer_.pending()) {
    // Do not wait for space that may never come: the batch fails (its
    // callbacks get the out-of-space error) and fail() starts the close.
    retry_timer_.stop();
    return fail(full_status_);
  }
  if (in_flight_) return;  // finish_batch() goes on with the close
  // Writes left for a kick() are finished first.
  if (!pending_dones_.empty()) return start_flush();
  start_close();
}

void Wal::kick() {
  if (!in_flight_ && !pending_dones_.empty()) start_flush();
}

void Wal::start_close() {
  retry_timer_.close();
  for (int* fd : {&tmp_fd_, &active_fd_, &dir_fd_}) {
    if (*fd >= 0) closing_fds_.push_back(std::exchange(*fd, -1));
  }
  close_next_fd();
}

void Wal::close_next_fd() {
  if (closing_fds_.empty()) {
    if (auto done = std::move(close_done_)) done();
    return;
  }
  const int fd = closing_fds_.back();
  closing_fds_.pop_back();
  fs::close(loop_, alive_, fd, [this](std::int64_t) { close_next_fd(); });
}

}  // namespace raftkv::storage
