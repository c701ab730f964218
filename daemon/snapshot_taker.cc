#include "daemon/snapshot_taker.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <utility>

#include "storage/file_util.h"

namespace raftkv::daemon {
namespace {

// ---- The child. Everything below runs in the forked process only. ----

// Handlers installed by the parent (libuv's signal handlers write to the
// parent's loop through a pipe the child shares) must not run here.
void reset_signals() {
  for (int signal_number = 1; signal_number < NSIG; ++signal_number) {
    if (signal_number == SIGKILL || signal_number == SIGSTOP) continue;
    std::signal(signal_number, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Drops the child's copies of the parent's descriptors (sockets, WAL
// segments, the epoll fd) except `keep`: a socket the parent closes must
// really close, not linger until the child exits.
void close_inherited_fds(int keep) {
  if (keep > 3) close_range(3, static_cast<unsigned>(keep) - 1, 0);
  if (close_range(static_cast<unsigned>(keep) + 1, ~0U, 0) == 0) return;
  // close_range unavailable (kernel < 5.9): close one by one up to the limit.
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  const rlim_t last = std::min<rlim_t>(limit.rlim_cur, 1 << 16);
  for (rlim_t fd = 3; fd < last; ++fd) {
    if (static_cast<int>(fd) != keep) ::close(static_cast<int>(fd));
  }
}

bool write_pairs(const kv::StateMachine& state, const pb::SnapshotMeta& meta,
                 const std::string& dir, std::string* error) {
  auto writer = storage::SnapshotWriter::create(dir, meta, error);
  if (!writer) return false;
  bool ok = true;
  state.for_each([&](std::string_view key, std::string_view value) {
    if (ok) ok = writer->add(key, value, error);
  });
  return ok && writer->finish(error);
}

[[noreturn]] void run_child(const kv::StateMachine& state, const pb::SnapshotMeta& meta,
                            const std::string& dir, int error_fd, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The parent may have died between fork() and prctl(): then nobody
  // would ever kill us.
  if (getppid() != parent) _exit(1);
  reset_signals();
  close_inherited_fds(error_fd);
  std::string error;
  if (write_pairs(state, meta, dir, &error)) _exit(0);
  const std::string line = error.substr(0, 4000) + "\n";
  [[maybe_unused]] const ssize_t written = ::write(error_fd, line.data(), line.size());
  _exit(1);
}

// ---- The parent. ----

std::uint64_t elapsed_ms(std::uint64_t since_ns) {
  return (uv_hrtime() - since_ns) / 1000000;
}

}  // namespace

SnapshotTaker::SnapshotTaker(uv_loop_t* loop, std::string dir, std::uint64_t poll_ms)
    : loop_(loop), dir_(std::move(dir)), poll_ms_(poll_ms) {
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
}

SnapshotTaker::~SnapshotTaker() {
  // Safety net for an owner that skipped close(): never leave a child
  // writing (or a zombie) behind.
  if (child_ > 0) {
    kill(child_, SIGKILL);
    int status = 0;
    waitpid(child_, &status, 0);
    forget_child();
  }
}

SnapshotTaker::Start SnapshotTaker::start(const kv::StateMachine& state,
                                          const pb::SnapshotMeta& meta, Done done,
                                          std::string* error) {
  if (closing_ || running()) return Start::kBusy;
  int fds[2];
  // Non-blocking: the parent reads the pipe only after reaping the child
  // and must never wait on it.
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    ++metrics_.failed;
    return Start::kForkFailed;
  }
  const pid_t parent = getpid();
  const std::uint64_t fork_begin_ns = uv_hrtime();
  const pid_t pid = fork();
  if (pid == 0) {
    ::close(fds[0]);
    run_child(state, meta, dir_, fds[1], parent);
  }
  const std::uint64_t fork_end_ns = uv_hrtime();
  ::close(fds[1]);
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    ::close(fds[0]);
    ++metrics_.failed;
    return Start::kForkFailed;
  }
  child_ = pid;
  error_pipe_ = fds[0];
  path_ = storage::join_path(dir_, storage::snapshot_file_name(meta.index(), meta.term()));
  started_ns_ = fork_begin_ns;
  done_ = std::move(done);
  metrics_.running = true;
  metrics_.last_fork_us = (fork_end_ns - fork_begin_ns) / 1000;
  uv_timer_start(&timer_, on_poll, poll_ms_, poll_ms_);
  return Start::kStarted;
}

void SnapshotTaker::on_poll(uv_timer_t* timer) {
  static_cast<SnapshotTaker*>(timer->data)->poll_child();
}

void SnapshotTaker::poll_child() {
  if (child_ <= 0) return;
  int status = 0;
  const pid_t reaped = waitpid(child_, &status, WNOHANG);
  if (reaped == 0) return;  // still writing
  if (reaped < 0) {
    // Only if someone else reaped our child (a wait(-1) elsewhere): the
    // outcome is unknown, so count it as failed.
    status = -1;
  }
  finish(status);
}

void SnapshotTaker::finish(int wait_status) {
  uv_timer_stop(&timer_);
  SnapshotResult result = result_of(wait_status);
  forget_child();
  if (closing_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_timer_closed);
    return;
  }
  if (result.ok) {
    ++metrics_.taken;
    metrics_.last_duration_ms = result.duration_ms;
    metrics_.last_bytes = result.info.file_bytes;
  } else {
    ++metrics_.failed;
  }
  // Moved out first: done may start the next snapshot.
  Done done = std::move(done_);
  done_ = nullptr;
  if (done) done(result);
}

SnapshotResult SnapshotTaker::result_of(int wait_status) {
  SnapshotResult result;
  result.duration_ms = elapsed_ms(started_ns_);
  if (wait_status == -1) {
    result.error = "snapshot child " + std::to_string(child_) + " was reaped elsewhere";
  } else if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) {
    result.ok = storage::read_snapshot_header(path_, &result.info, &result.error);
  } else if (WIFEXITED(wait_status)) {
    result.error = read_child_error();
    if (result.error.empty()) {
      result.error =
          "snapshot child exited with status " + std::to_string(WEXITSTATUS(wait_status));
    }
  } else if (WIFSIGNALED(wait_status)) {
    result.error = "snapshot child killed by signal " + std::to_string(WTERMSIG(wait_status));
  }
  // A child that did not finish may leave its tmp file (killed mid-write).
  if (!result.ok) ::unlink((path_ + ".tmp").c_str());
  return result;
}

std::string SnapshotTaker::read_child_error() {
  char buffer[4096];
  const ssize_t n = ::read(error_pipe_, buffer, sizeof buffer);
  if (n <= 0) return "";
  std::string line(buffer, static_cast<std::size_t>(n));
  while (!line.empty() && line.back() == '\n') line.pop_back();
  return line;
}

void SnapshotTaker::forget_child() {
  if (error_pipe_ >= 0) ::close(error_pipe_);
  error_pipe_ = -1;
  child_ = 0;
  metrics_.running = false;
}

void SnapshotTaker::close(std::function<void()> closed) {
  if (timer_closed_) {
    if (closed) closed();
    return;
  }
  if (closing_) {
    // A second close(): run both callbacks once the timer is closed.
    on_closed_ = [first = std::move(on_closed_), second = std::move(closed)] {
      if (first) first();
      if (second) second();
    };
    return;
  }
  closing_ = true;
  on_closed_ = std::move(closed);
  done_ = nullptr;
  if (child_ > 0) {
    // The poll timer keeps running and finish() closes it once reaped.
    kill(child_, SIGKILL);
    return;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_timer_closed);
}

void SnapshotTaker::on_timer_closed(uv_handle_t* handle) {
  auto* self = static_cast<SnapshotTaker*>(handle->data);
  self->timer_closed_ = true;
  auto closed = std::move(self->on_closed_);
  self->on_closed_ = nullptr;
  if (closed) closed();
}

}  // namespace raftkv::daemon
