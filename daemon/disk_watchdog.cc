#include "daemon/disk_watchdog.h"

#include "util/log.h"

namespace raftkv::daemon {
namespace {

constexpr const char* kLog = "disk";

unsigned long long ull(std::uint64_t value) {
  return static_cast<unsigned long long>(value);
}

}  // namespace

const char* disk_state_name(DiskState state) {
  switch (state) {
    case DiskState::kOk:
      return "ok";
    case DiskState::kFull:
      return "full";
    case DiskState::kStuck:
      return "stuck";
  }
  return "ok";
}

bool DiskWatchdog::check(std::uint64_t now_ms, bool disk_full,
                         std::optional<std::uint64_t> in_flight_since_ms) {
  DiskState next = DiskState::kOk;
  if (disk_full) {
    next = DiskState::kFull;
  } else if (in_flight_since_ms && now_ms >= *in_flight_since_ms + stuck_after_ms_) {
    next = DiskState::kStuck;
  }
  if (next != state_) enter(next, now_ms, in_flight_since_ms);
  return state_ != DiskState::kOk && now_ms >= next_handoff_ms_;
}

// One log line per change of state, not per tick.
void DiskWatchdog::enter(DiskState next, std::uint64_t now_ms,
                         std::optional<std::uint64_t> since_ms) {
  const DiskState before = state_;
  state_ = next;
  if (before == DiskState::kStuck) {
    RKV_INFO(kLog, "disk no longer stuck: the log write completed after %llu ms%s",
             ull(now_ms - since_ms_), next == DiskState::kOk ? "; writes are taken again" : "");
  } else if (before == DiskState::kFull && next == DiskState::kOk) {
    RKV_INFO(kLog, "disk no longer full: writes are taken again");
  }
  if (before == DiskState::kOk) {  // a new episode: act at once
    next_handoff_ms_ = now_ms;
    attempts_ = 0;
  }
  if (next == DiskState::kStuck) {
    ++metrics_.stuck_episodes;
    since_ms_ = since_ms.value_or(now_ms);
    RKV_WARN(kLog,
             "disk stuck: a log write has been in flight for %llu ms (limit %llu ms, the election "
             "timeout); new writes are refused (503) and a leader hands off leadership",
             ull(now_ms - since_ms_), ull(stuck_after_ms_));
  } else if (next == DiskState::kFull) {
    RKV_WARN(kLog, "disk full: new writes are refused (503) and a leader hands off leadership");
  }
}

void DiskWatchdog::note_handoff(std::uint64_t now_ms, bool started) {
  if (started) ++metrics_.handoffs;
  ++attempts_;
  next_handoff_ms_ = now_ms + handoff_retry_ms_;
}

const char* DiskWatchdog::refusal() const {
  switch (state_) {
    case DiskState::kOk:
      return nullptr;
    case DiskState::kFull:
      return "disk full";
    case DiskState::kStuck:
      return "disk stuck";
  }
  return nullptr;
}

}  // namespace raftkv::daemon
