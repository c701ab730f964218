// The virtual clock and its agenda: every future happening of a run (a tick,
// a message arriving, a disk write completing, a crash, a workload action)
// is an Event ordered by (time, sequence number). The sequence number breaks
// ties in insertion order, so equal-time events never depend on heap
// internals and a seed always replays the same trace.
#pragma once

#include <cstdint>
#include <queue>
#include <vector>

namespace raftkv::sim {

using Time = std::uint64_t;  // virtual microseconds since the start of a run

inline constexpr Time kMillisecond = 1000;

enum class EventKind : std::uint8_t {
  kTick,          // member, arg = incarnation
  kDeliver,       // arg = network slot
  kDiskDone,      // member, arg = incarnation
  kCrash,         // member, arg = downtime
  kRestart,       // member
  kNemesis,       // next fault action
  kIsolate,       // member: cut it off (a reactive fault, see Member)
  kPropose,       // workload
  kRead,          // workload
  kTransfer,      // workload
  kProbe,         // liveness probe, once per tick after the heal
  kSnapshotDone,  // member, arg = incarnation: a snapshot it took is written
  kTransferDone,  // arg = transfer slot: a snapshot transfer ends
  // The next membership change (membership.h).
  kMembership,
};

struct Event {
  Time time = 0;
  std::uint64_t seq = 0;
  EventKind kind = EventKind::kTick;
  std::uint32_t member = 0;
  std::uint64_t arg = 0;
};

class EventQueue {
 public:
  void push(Time at, EventKind kind, std::uint32_t member = 0, std::uint64_t arg = 0) {
    heap_.push(Event{at, next_seq_++, kind, member, arg});
  }
  void after(Time delay, EventKind kind, std::uint32_t member = 0, std::uint64_t arg = 0) {
    push(now_ + delay, kind, member, arg);
  }
  bool empty() const { return heap_.empty(); }
  // Removes the earliest event and advances the clock to it.
  Event pop() {
    Event e = heap_.top();
    heap_.pop();
    now_ = e.time;
    return e;
  }
  Time now() const { return now_; }

 private:
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.time != b.time ? a.time > b.time : a.seq > b.seq;
    }
  };
  std::priority_queue<Event, std::vector<Event>, Later> heap_;
  std::uint64_t next_seq_ = 0;
  Time now_ = 0;
};

}  // namespace raftkv::sim
