// Counters of the write-ahead log, exported by the daemon on /metrics
// (field notes 1.1: fsync latency is part of leader liveness, so it must be
// visible; etcd's rule of thumb is p99 < 10 ms).
#pragma once

#include <array>
#include <cstdint>

namespace raftkv::storage {

// A fixed-bucket latency histogram (Prometheus style: a count per upper
// bound plus an overflow bucket, and the sum).
class LatencyHistogram {
 public:
  // Upper bounds in microseconds, 100 us .. 4 s.
  static constexpr std::array<std::uint64_t, 14> kBoundsUs = {
      100,   250,   500,    1000,   2500,   5000,    10000,
      25000, 50000, 100000, 250000, 500000, 1000000, 4000000};

  void observe(std::uint64_t nanoseconds);

  // counts()[i] holds samples <= kBoundsUs[i] (and > the previous bound);
  // counts().back() holds the samples above the last bound.
  const std::array<std::uint64_t, kBoundsUs.size() + 1>& counts() const { return counts_; }
  std::uint64_t count() const { return count_; }
  std::uint64_t sum_ns() const { return sum_ns_; }

 private:
  std::array<std::uint64_t, kBoundsUs.size() + 1> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ns_ = 0;
};

struct WalMetrics {
  std::uint64_t fsyncs = 0;                 // fdatasyncs of segment and hardstate files
  std::uint64_t dir_fsyncs = 0;             // directory fsyncs (create, rename, unlink)
  std::uint64_t batches = 0;                // group commits (one per flush of pending writes)
  std::uint64_t writes = 0;                 // write() calls acknowledged successfully
  std::uint64_t entries_written = 0;        // entries made durable; mean per batch = / batches
  std::uint64_t max_entries_per_fsync = 0;  // largest batch, in entries
  std::uint64_t bytes_written = 0;          // bytes of records, headers and hardstate
  std::uint64_t hard_state_writes = 0;
  std::uint64_t segments_created = 0;
  std::uint64_t segments_deleted = 0;    // every segment removed (truncation, compaction, reset)
  std::uint64_t segments_compacted = 0;  // of those: removed by compact()
  std::uint64_t log_resets = 0;          // reset() calls carried out
  std::uint64_t log_bytes = 0;           // bytes of segment files on disk now
  std::uint64_t failed_writes = 0;       // write() calls completed with an error
  LatencyHistogram fsync_latency;        // of every fdatasync counted in `fsyncs`
};

}  // namespace raftkv::storage
