#include "transport/snapshot_receiver.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "storage/file_util.h"
#include "storage/fs_request.h"

namespace raftkv::transport {

// The open part file, shared with writes and the install job in flight so
// that its fd is closed only once nothing uses it.
struct SnapshotReceiver::File {
  explicit File(uv_file descriptor) : fd(descriptor) {}
  ~File() { ::close(fd); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  uv_file fd;
};

struct SnapshotReceiver::Transfer {
  core::NodeId from = core::kNoNode;
  std::uint64_t message_term = 0;  // of the latest chunk: stamped on acks
  std::uint64_t index = 0;
  std::uint64_t snapshot_term = 0;
  std::uint64_t total = 0;
  std::uint64_t generation = 0;
  std::string part_path;
  std::string final_path;
  std::shared_ptr<File> file;  // null until the open completed
  bool opening = true;
  bool writing = false;
  bool verifying = false;
  std::uint64_t held = 0;      // written to the part file
  std::uint64_t expected = 0;  // held + queued: where the next chunk must start
  std::deque<Pending> queue;
  std::size_t queued_bytes = 0;
};

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The threadpool half of finishing a transfer: blocking calls only, no
// receiver state (the receiver may be gone when it runs).
struct InstallJob {
  uv_work_t work{};
  std::weak_ptr<void> alive;
  std::function<void(bool ok, const std::string& error, const storage::SnapshotInfo& info)> done;
  std::shared_ptr<void> file;  // keeps the fd open until the job is done
  uv_file fd = -1;
  std::string dir;
  std::string part_path;
  std::string final_path;
  std::uint64_t index = 0;
  std::uint64_t term = 0;
  std::uint64_t total = 0;
  bool ok = false;
  std::string error;
  storage::SnapshotInfo info;
};

// fdatasync, verify everything, rename into place, make the rename durable.
void run_install(InstallJob& job) {
  if (::fdatasync(job.fd) != 0) {
    job.error = "fdatasync " + job.part_path + ": " + storage::errno_text(errno);
    return;
  }
  if (!storage::read_snapshot(job.part_path, &job.info, {}, &job.error)) return;
  if (job.info.meta.index() != job.index || job.info.meta.term() != job.term) {
    job.error = job.part_path + ": announced as index " + std::to_string(job.index) + " term " +
                std::to_string(job.term) + ", holds index " +
                std::to_string(job.info.meta.index()) + " term " +
                std::to_string(job.info.meta.term());
    return;
  }
  if (job.info.file_bytes != job.total) {
    job.error = job.part_path + ": " + std::to_string(job.info.file_bytes) + " bytes, announced " +
                std::to_string(job.total);
    return;
  }
  if (::rename(job.part_path.c_str(), job.final_path.c_str()) != 0) {
    job.error = "rename " + job.part_path + ": " + storage::errno_text(errno);
    return;
  }
  const int rc = storage::fsync_dir(job.dir);
  if (rc != 0) {
    job.error = "fsync " + job.dir + ": " + storage::errno_text(-rc);
    return;
  }
  job.info.path = job.final_path;
  job.ok = true;
}

void install_work(uv_work_t* work) {
  auto* job = static_cast<InstallJob*>(work->data);
  run_install(*job);
  if (!job->ok) ::unlink(job->part_path.c_str());
}

void install_after(uv_work_t* work, int /*status*/) {
  std::unique_ptr<InstallJob> job(static_cast<InstallJob*>(work->data));
  if (job->alive.expired()) return;
  auto done = std::move(job->done);
  done(job->ok, job->error, job->info);
}

}  // namespace

SnapshotReceiver::SnapshotReceiver(uv_loop_t* loop, std::string dir,
                                   SnapshotReceiverOptions options, Send send, Complete complete)
    : loop_(loop),
      dir_(std::move(dir)),
      options_(options),
      send_(std::move(send)),
      complete_(std::move(complete)),
      alive_(std::make_shared<char>()) {
  storage::make_dirs(dir_);
  remove_leftover_parts();
}

SnapshotReceiver::~SnapshotReceiver() = default;

void SnapshotReceiver::remove_leftover_parts() {
  std::vector<std::string> names;
  if (storage::list_dir(dir_, &names) != 0) return;
  for (const auto& name : names) {
    if (ends_with(name, ".part")) ::unlink(storage::join_path(dir_, name).c_str());
  }
}

void SnapshotReceiver::on_chunk(const pb::Message& message) {
  if (!message.has_snapshot_chunk()) return;
  const pb::SnapshotChunk& chunk = message.snapshot_chunk();
  const core::NodeId from = message.from();
  if (is_completed(from, chunk)) {
    // Our last ack was lost: say again that we have it all.
    return ack(from, message.term(), chunk.index(), chunk.term(), completed_->total);
  }
  if (is_current(from, chunk)) return accept(message.term(), chunk);
  if (chunk.offset() != 0 || (transfer_ && transfer_->verifying)) {
    // We hold nothing of this snapshot (or are busy finishing another):
    // the sender must start over, from 0.
    ++stats_.chunks_ignored;
    return ack(from, message.term(), chunk.index(), chunk.term(), 0);
  }
  if (chunk.total_bytes() > options_.max_total_bytes) {
    return refuse(from, message.term(), chunk,
                  "snapshot of " + std::to_string(chunk.total_bytes()) +
                      " bytes exceeds the limit of " + std::to_string(options_.max_total_bytes));
  }
  if (transfer_) {
    ++stats_.abandoned;
    drop_transfer();
  }
  start_transfer(from, message.term(), chunk);
  accept(message.term(), chunk);
}

bool SnapshotReceiver::is_current(core::NodeId from, const pb::SnapshotChunk& chunk) const {
  return transfer_ && transfer_->from == from && transfer_->index == chunk.index() &&
         transfer_->snapshot_term == chunk.term();
}

bool SnapshotReceiver::is_completed(core::NodeId from, const pb::SnapshotChunk& chunk) const {
  return completed_ && completed_->from == from && completed_->index == chunk.index() &&
         completed_->term == chunk.term() && completed_->total == chunk.total_bytes();
}

std::string SnapshotReceiver::check_chunk(const pb::SnapshotChunk& chunk) const {
  const std::uint64_t end = chunk.offset() + chunk.data().size();
  if (chunk.total_bytes() != transfer_->total) {
    return "malformed snapshot chunk: total_bytes changed from " +
           std::to_string(transfer_->total) + " to " + std::to_string(chunk.total_bytes());
  }
  if (end > chunk.total_bytes() || end < chunk.offset()) {
    return "malformed snapshot chunk: bytes " + std::to_string(chunk.offset()) + ".." +
           std::to_string(end) + " beyond the announced " + std::to_string(chunk.total_bytes());
  }
  if (chunk.done() != (end == chunk.total_bytes())) {
    return "malformed snapshot chunk: done flag at bytes " + std::to_string(chunk.offset()) + ".." +
           std::to_string(end) + " of " + std::to_string(chunk.total_bytes());
  }
  return "";
}

void SnapshotReceiver::start_transfer(core::NodeId from, std::uint64_t term,
                                      const pb::SnapshotChunk& chunk) {
  auto transfer = std::make_unique<Transfer>();
  transfer->from = from;
  transfer->message_term = term;
  transfer->index = chunk.index();
  transfer->snapshot_term = chunk.term();
  transfer->total = chunk.total_bytes();
  transfer->generation = ++generation_;
  const std::string name = storage::snapshot_file_name(chunk.index(), chunk.term());
  transfer->final_path = storage::join_path(dir_, name);
  transfer->part_path = transfer->final_path + ".part";
  // Blocking on purpose: a part file of the same name may still be the
  // target of an abandoned transfer's write in flight; unlinking it before
  // the open is queued guarantees the new transfer gets a fresh inode.
  ::unlink(transfer->part_path.c_str());
  const std::uint64_t generation = transfer->generation;
  const std::string part_path = transfer->part_path;
  transfer_ = std::move(transfer);
  ++stats_.started;
  stats_.in_progress = true;
  stats_.progress_bytes = 0;
  stats_.progress_total = chunk.total_bytes();
  storage::fs::open(loop_, alive_, part_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644,
                    [this, generation](std::int64_t result) { on_opened(generation, result); });
}

void SnapshotReceiver::on_opened(std::uint64_t generation, std::int64_t result) {
  if (!transfer_ || transfer_->generation != generation) {
    if (result >= 0) ::close(static_cast<uv_file>(result));  // abandoned meanwhile
    return;
  }
  if (result < 0) {
    return fail_transfer("create " + transfer_->part_path + ": " +
                         uv_strerror(static_cast<int>(result)));
  }
  transfer_->file = std::make_shared<File>(static_cast<uv_file>(result));
  transfer_->opening = false;
  write_next();
}

void SnapshotReceiver::accept(std::uint64_t term, const pb::SnapshotChunk& chunk) {
  Transfer& transfer = *transfer_;
  transfer.message_term = term;
  const std::string problem = check_chunk(chunk);
  if (!problem.empty()) return fail_transfer(problem);
  if (transfer.verifying || chunk.offset() != transfer.expected) {
    ++stats_.chunks_ignored;
    return ack_current();
  }
  if (!transfer.queue.empty() &&
      transfer.queued_bytes + chunk.data().size() > options_.max_queued_bytes) {
    ++stats_.chunks_ignored;  // as if lost: the sender resends it
    return;
  }
  transfer.queue.push_back(Pending{chunk.offset(), chunk.data(), chunk.done()});
  transfer.queued_bytes += chunk.data().size();
  transfer.expected += chunk.data().size();
  write_next();
}

void SnapshotReceiver::write_next() {
  Transfer& transfer = *transfer_;
  if (transfer.opening || transfer.writing || transfer.verifying || transfer.queue.empty()) return;
  Pending pending = std::move(transfer.queue.front());
  transfer.queue.pop_front();
  transfer.queued_bytes -= pending.data.size();
  const std::size_t bytes = pending.data.size();
  if (bytes == 0) {
    // Nothing to write (an empty last chunk or a probe).
    if (pending.done) return verify_and_install();
    ack_current();
    return write_next();
  }
  transfer.writing = true;
  const std::uint64_t generation = transfer.generation;
  const bool done = pending.done;
  storage::fs::write_all(loop_, alive_, transfer.file->fd, std::move(pending.data),
                         static_cast<std::int64_t>(pending.offset),
                         [this, generation, bytes, done, file = transfer.file](
                             std::int64_t result) { on_written(generation, bytes, done, result); });
}

void SnapshotReceiver::on_written(std::uint64_t generation, std::size_t bytes, bool done,
                                  std::int64_t result) {
  if (!transfer_ || transfer_->generation != generation) return;
  Transfer& transfer = *transfer_;
  transfer.writing = false;
  if (result < 0) {
    return fail_transfer("write " + transfer.part_path + ": " +
                         uv_strerror(static_cast<int>(result)));
  }
  stats_.bytes_written += bytes;
  // The last chunk counts as held only once the file is verified and in
  // place: its ack is the sender's "done".
  if (done) return verify_and_install();
  transfer.held += bytes;
  stats_.progress_bytes = transfer.held;
  ack_current();
  write_next();
}

void SnapshotReceiver::verify_and_install() {
  Transfer& transfer = *transfer_;
  transfer.verifying = true;
  auto job = std::make_unique<InstallJob>();
  job->alive = alive_;
  job->file = transfer.file;
  job->fd = transfer.file->fd;
  job->dir = dir_;
  job->part_path = transfer.part_path;
  job->final_path = transfer.final_path;
  job->index = transfer.index;
  job->term = transfer.snapshot_term;
  job->total = transfer.total;
  const std::uint64_t generation = transfer.generation;
  job->done = [this, generation](bool ok, const std::string& error,
                                 const storage::SnapshotInfo& info) {
    on_installed(generation, ok, error, info);
  };
  job->work.data = job.get();
  const int rc = uv_queue_work(loop_, &job->work, install_work, install_after);
  if (rc < 0) return fail_transfer(std::string("queue install: ") + uv_strerror(rc));
  job.release();  // install_after owns it now
}

void SnapshotReceiver::on_installed(std::uint64_t generation, bool ok, const std::string& error,
                                    const storage::SnapshotInfo& info) {
  if (!transfer_ || transfer_->generation != generation) return;
  if (!ok) return fail_transfer(error);
  const Transfer transfer = std::move(*transfer_);
  transfer_.reset();
  completed_ = Completed{transfer.from, transfer.index, transfer.snapshot_term, transfer.total};
  ++stats_.completed;
  stats_.in_progress = false;
  stats_.progress_bytes = transfer.total;
  ack(transfer.from, transfer.message_term, transfer.index, transfer.snapshot_term, transfer.total);
  // Last statement: the callback may destroy this receiver.
  complete_(transfer.from, transfer.message_term, info);
}

void SnapshotReceiver::refuse(core::NodeId to, std::uint64_t term, const pb::SnapshotChunk& chunk,
                              const std::string& error) {
  ++stats_.failed;
  ack(to, term, chunk.index(), chunk.term(), 0, error);
}

void SnapshotReceiver::fail_transfer(const std::string& error) {
  const Transfer& transfer = *transfer_;
  ++stats_.failed;
  const core::NodeId to = transfer.from;
  const std::uint64_t term = transfer.message_term;
  const std::uint64_t index = transfer.index;
  const std::uint64_t snapshot_term = transfer.snapshot_term;
  const std::uint64_t held = transfer.held;
  drop_transfer();
  ack(to, term, index, snapshot_term, held, error);
}

void SnapshotReceiver::drop_transfer() {
  ::unlink(transfer_->part_path.c_str());
  transfer_.reset();
  stats_.in_progress = false;
}

void SnapshotReceiver::abandon() {
  if (!transfer_) return;
  ++stats_.abandoned;
  drop_transfer();
}

void SnapshotReceiver::ack(core::NodeId to, std::uint64_t term, std::uint64_t index,
                           std::uint64_t snapshot_term, std::uint64_t next_offset,
                           const std::string& error) {
  pb::Message message;
  message.set_to(to);
  message.set_term(term);
  auto* ack = message.mutable_snapshot_chunk_ack();
  ack->set_index(index);
  ack->set_term(snapshot_term);
  ack->set_next_offset(next_offset);
  if (!error.empty()) {
    ack->set_failed(true);
    ack->set_error(error);
  }
  send_(std::move(message));
}

void SnapshotReceiver::ack_current() {
  const Transfer& transfer = *transfer_;
  ack(transfer.from, transfer.message_term, transfer.index, transfer.snapshot_term, transfer.held);
}

}  // namespace raftkv::transport
