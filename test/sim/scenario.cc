#include "scenario.h"

namespace raftkv::sim {

namespace {

// Core options. Each deviation from the defaults opens a schedule the
// defaults hide: without check_quorum a cut-off leader keeps believing it
// leads (stale reads need that); one entry per AppendEntries lets a
// prior-term entry reach a majority before the new leader's no-op does
// (figure 8 needs that).
void draw_options(Rng& r, Scenario& s) {
  s.election_ticks = static_cast<int>(r.between(5, 12));
  s.heartbeat_ticks = static_cast<int>(r.between(1, 3));
  s.pre_vote = r.chance(0.7);
  s.check_quorum = r.chance(0.6);
  s.max_append_bytes = r.chance(0.4) ? 1 : std::size_t{1} << 20;
  s.max_inflight_messages = r.chance(0.3) ? r.between(1, 4) : 64;
}

// Timing: how slow disks are relative to the network decides how often a
// crash catches writes (votes, appends) that were already promised.
void draw_timing(Rng& r, Scenario& s) {
  s.disk_min = r.between(10, 500);
  s.disk_max = s.disk_min + r.between(100, r.chance(0.5) ? 3000 : 12000);
  s.disk_stall_chance = r.chance(0.5) ? 0.01 : 0.05;
  s.network.min_delay = r.between(50, 500);
  s.network.max_delay = s.network.min_delay + r.between(100, r.chance(0.3) ? 20000 : 4000);
  s.network.drop = r.chance(0.3) ? 0 : 0.005 * static_cast<double>(r.between(1, 20));
  s.network.duplicate = r.chance(0.5) ? 0 : 0.01 * static_cast<double>(r.between(1, 10));
  s.network.slow = r.chance(0.5) ? 0 : 0.02;
}

void draw_faults(Rng& r, Scenario& s) {
  s.propose_gap = r.between(1, 20) * kMillisecond;
  s.read_gap = r.between(2, 30) * kMillisecond;
  s.transfer_gap = r.between(300, 3000) * kMillisecond;
  s.nemesis_gap = r.between(30, 300) * kMillisecond;
  s.crash_after_vote = r.chance(0.5) ? 0.3 : 0.05;
  s.isolate_new_leader = r.chance(0.5) ? 0.3 : 0.05;
  s.isolate_after_first_commit = r.chance(0.5) ? 0.4 : 0.05;
  s.w_heal = static_cast<int>(r.between(1, 4));
  s.w_split = static_cast<int>(r.between(0, 3));
  s.w_isolate_leader = static_cast<int>(r.between(0, 3));
  s.w_one_way = static_cast<int>(r.between(0, 2));
  s.w_crash = static_cast<int>(r.between(0, 3));
  s.w_crash_leader = static_cast<int>(r.between(0, 3));
  s.w_slow_disk = static_cast<int>(r.between(0, 1));
}

// Snapshots, from a stream of their own so that the other draws (and so
// the seeds' timing regimes) stay what they were before snapshots existed.
// A third of the seeds never snapshot; the others snapshot often (every
// 5-50 entries), so compaction, InstallSnapshot to followers far behind,
// crashes while writing or installing one all happen many times per run.
// Some seeds send snapshots slowly: transfers then outlast several election
// timeouts, which must not matter.
void draw_snapshots(std::uint64_t seed, Scenario& s) {
  Rng r(mix(seed, 0x5a4905));
  if (r.chance(1.0 / 3)) return;
  s.snapshot_every = r.between(5, 50);
  s.snapshot_trailing_max = r.between(0, 10);
  s.snapshot_write_per_entry = r.between(0, 20);
  s.transfer_per_entry = r.chance(0.2) ? r.between(100, 500) : r.between(1, 50);
  s.transfer_fail = r.chance(0.5) ? 0 : 0.05 * static_cast<double>(r.between(1, 6));
}

// Drawn last, so that the other knobs of a seed stay what they were.
void draw_membership(Rng& r, Scenario& s) {
  s.membership = r.chance(0.5);
  if (!s.membership) return;
  s.spares = 2;
  s.membership_gap = r.between(50, 400) * kMillisecond;
  s.promote_within_entries = r.chance(0.5) ? r.between(0, 10) : 100;
}

}  // namespace

Scenario make_scenario(std::uint64_t seed, std::size_t members, std::uint64_t steps,
                       const core::UnsafeTestFaults& faults, bool verbose) {
  Scenario s;
  s.seed = seed;
  s.members = members;
  s.steps = steps;
  s.faults = faults;
  s.verbose = verbose;
  Rng r(mix(seed, 0x5ce7a210));
  draw_options(r, s);
  draw_timing(r, s);
  draw_faults(r, s);
  draw_snapshots(seed, s);
  draw_membership(r, s);
  return s;
}

}  // namespace raftkv::sim
