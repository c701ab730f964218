// What every part of one simulated run shares: the seed's scenario, the
// clock and agenda, the network, the checker, the random stream, the trace
// and the counters. Members, workload and nemesis all act through it.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <string>

#include "checker.h"
#include "core/options.h"
#include "event_queue.h"
#include "network.h"
#include "rng.h"

namespace raftkv::sim {

// Knobs drawn once per seed (see scenario.cc) so that different seeds explore
// different timing regimes and core options.
struct Scenario {
  std::uint64_t seed = 1;
  std::size_t members = 3;  // the bootstrap voters, ids 0 .. members - 1
  // Membership changes (membership.h): spare members (ids from `members`
  // on) start empty and joining; the membership nemesis adds and removes.
  bool membership = false;
  std::size_t spares = 0;
  Time membership_gap = 300 * kMillisecond;
  std::size_t promote_within_entries = 100;
  std::size_t total() const { return members + spares; }
  std::uint64_t steps = 0;  // events in the chaos phase
  core::UnsafeTestFaults faults;
  bool verbose = false;

  // Core options.
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  std::size_t max_append_bytes = 1 << 20;
  std::size_t max_inflight_messages = 64;

  Time tick = 10 * kMillisecond;

  // Disk: write latency is uniform in [disk_min, disk_max], with a chance of
  // a stall of up to disk_stall.
  Time disk_min = 50;
  Time disk_max = 2 * kMillisecond;
  double disk_stall_chance = 0.02;
  Time disk_stall = 40 * kMillisecond;

  NetworkProfile network;

  // Mean gaps between workload and nemesis actions.
  Time propose_gap = 5 * kMillisecond;
  Time read_gap = 10 * kMillisecond;
  Time transfer_gap = 2000 * kMillisecond;
  Time nemesis_gap = 150 * kMillisecond;
  // Reactive faults, aimed at the moments where Raft's subtle rules matter:
  // a crash right after granting a vote (is the vote durable?), cutting off
  // a leader right after its election (its no-op stays unreplicated) or
  // right after its first commit (a follower may hold the earlier-term
  // entries but not yet the no-op: figure 8).
  double crash_after_vote = 0.05;
  double isolate_new_leader = 0.1;
  double isolate_after_first_commit = 0.1;
  // Relative weights of nemesis actions (see nemesis.cc).
  int w_heal = 3, w_split = 2, w_isolate_leader = 2, w_one_way = 2, w_crash = 2, w_crash_leader = 2,
      w_slow_disk = 1;

  // Snapshots (off when snapshot_every is 0): a member snapshots its state
  // machine every `snapshot_every` applied entries and keeps up to
  // `snapshot_trailing_max` entries before the snapshot point in its log.
  // Writing one takes a disk latency plus `snapshot_write_per_entry` per
  // entry it covers; sending one a network delay plus `transfer_per_entry`
  // per entry, and during the chaos phase it breaks with `transfer_fail`.
  std::uint64_t snapshot_every = 0;
  std::uint64_t snapshot_trailing_max = 0;
  Time snapshot_write_per_entry = 0;
  Time transfer_per_entry = 0;
  double transfer_fail = 0;
};

struct Stats {
  std::uint64_t events = 0;
  std::uint64_t leaders = 0;
  std::uint64_t committed = 0;
  std::uint64_t reads = 0;
  std::uint64_t crashes = 0;
  std::uint64_t proposals = 0;
  std::uint64_t dropped = 0;       // proposals reported certainly not appended
  std::uint64_t conf_changes = 0;  // membership changes committed
  std::uint64_t liveness_ticks_max = 0;
  std::uint64_t catch_up_ticks_max = 0;  // probe committed -> every member applied it
  std::uint64_t snapshot_seeds = 0;      // runs with snapshots on
  std::uint64_t snapshots = 0;           // taken and durable
  std::uint64_t installs = 0;
  std::uint64_t transfers = 0;
  std::uint64_t transfer_failures = 0;
};

class SnapshotTransfers;

class Trace {
 public:
  bool enabled = false;
  // Prints one trace line, prefixed with the event number and virtual time.
  void vlog(Time now, std::uint64_t step, const char* format, va_list args) const;
};

// For printf's %llu, whatever std::uint64_t is on this platform.
inline unsigned long long ull(std::uint64_t v) {
  return v;
}

struct World {
  explicit World(const Scenario& s)
      : scenario(s), rng(mix(s.seed, 0x5eed)), net(s.total(), rng, queue), checker(s.total()) {
    trace.enabled = s.verbose;
    net.set_profile(s.network);
  }
  // printf-style trace line (only with --verbose). Callers guard expensive
  // arguments with `trace.enabled`.
  void log(const char* format, ...) const __attribute__((format(printf, 2, 3)));

  Scenario scenario;
  EventQueue queue;
  Rng rng;
  Network net;
  Checker checker;
  Trace trace;
  Stats stats;
  // True during the chaos phase; false once the nemesis has healed everything.
  bool chaos = true;
  // The liveness phase: a "probe-N" proposal has been made / applied (at
  // probe_index).
  bool probe_open = false;
  bool probe_committed = false;
  Index probe_index = 0;
  // Where members send snapshots (owned by the Cluster).
  SnapshotTransfers* transfers = nullptr;
};

}  // namespace raftkv::sim
