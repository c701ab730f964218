// raftkv-sim: runs seeded simulations of 3- and 5-member clusters of the real
// Raft core and checks Raft's safety properties, linearizable reads and
// liveness. See docs/simulation.md.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cluster.h"
#include "scenario.h"

namespace {

using raftkv::sim::ull;

constexpr std::uint64_t kDefaultSteps = 12000;

struct Args {
  std::uint64_t first_seed = 1;
  std::uint64_t seeds = 1;
  std::size_t nodes = 0;  // 0: 3 members for odd seeds, 5 for even ones
  std::uint64_t steps = kDefaultSteps;
  std::string fault;
  bool verbose = false;
  bool expect_violation = false;
};

void usage(std::FILE* out) {
  std::fputs(
      "usage: raftkv-sim [--seeds N [--first-seed S] | --seed S [--verbose]]\n"
      "                  [--nodes 3|5] [--steps N] [--fault NAME] [--expect-violation]\n"
      "  --seeds N           run seeds S..S+N-1 (S = --first-seed, default 1)\n"
      "  --seed S            run one seed (with --verbose: print its event trace)\n"
      "  --nodes 3|5         cluster size (default: 3 for odd seeds, 5 for even)\n"
      "  --steps N           events in the chaos phase (default 12000)\n"
      "  --fault NAME        enable a deliberately broken core: commit_prior_term_by_count,\n"
      "                      forget_to_persist_vote, read_index_without_heartbeat,\n"
      "                      read_index_asker_always_confirms,\n"
      "                      snapshot_one_past_applied, concurrent_conf_changes or\n"
      "                      keep_config_on_truncation\n"
      "  --expect-violation  succeed only if some seed finds a violation\n"
      "exit status: 0 all seeds passed (or, with --expect-violation, a violation was\n"
      "found), 1 violation (or none found with --expect-violation), 2 bad arguments\n",
      out);
}

[[noreturn]] void bad(const std::string& message) {
  std::fprintf(stderr, "raftkv-sim: %s (see --help)\n", message.c_str());
  std::exit(2);
}

std::uint64_t number(const char* flag, const char* text) {
  if (!text) bad(std::string("missing value for ") + flag);
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-') {
    bad(std::string("bad value for ") + flag + ": '" + text + "'");
  }
  return v;
}

bool set_fault(const std::string& name, raftkv::core::UnsafeTestFaults& faults) {
  if (name == "commit_prior_term_by_count") {
    faults.commit_prior_term_by_count = true;
  } else if (name == "forget_to_persist_vote") {
    faults.forget_to_persist_vote = true;
  } else if (name == "read_index_without_heartbeat") {
    faults.read_index_without_heartbeat = true;
  } else if (name == "read_index_asker_always_confirms") {
    faults.read_index_asker_always_confirms = true;
  } else if (name == "snapshot_one_past_applied") {
    faults.snapshot_one_past_applied = true;
  } else if (name == "concurrent_conf_changes") {
    faults.concurrent_conf_changes = true;
  } else if (name == "keep_config_on_truncation") {
    faults.keep_config_on_truncation = true;
  } else {
    return false;
  }
  return true;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (flag == "--help" || flag == "-h") {
      usage(stdout);
      std::exit(0);
    } else if (flag == "--seeds") {
      a.seeds = number("--seeds", value), ++i;
    } else if (flag == "--first-seed") {
      a.first_seed = number("--first-seed", value), ++i;
    } else if (flag == "--seed") {
      a.first_seed = number("--seed", value), a.seeds = 1, ++i;
    } else if (flag == "--nodes") {
      a.nodes = number("--nodes", value), ++i;
      if (a.nodes != 3 && a.nodes != 5) bad("--nodes must be 3 or 5");
    } else if (flag == "--steps") {
      a.steps = number("--steps", value), ++i;
    } else if (flag == "--fault") {
      if (!value) bad("missing value for --fault");
      a.fault = value, ++i;
      raftkv::core::UnsafeTestFaults probe;
      if (!set_fault(a.fault, probe)) bad("unknown fault '" + a.fault + "'");
    } else if (flag == "--verbose" || flag == "-v") {
      a.verbose = true;
    } else if (flag == "--expect-violation") {
      a.expect_violation = true;
    } else {
      bad("unknown argument '" + flag + "'");
    }
  }
  if (a.seeds == 0) bad("--seeds must be at least 1");
  return a;
}

std::string replay_command(const Args& a, std::uint64_t seed, std::size_t nodes) {
  std::string cmd =
      "raftkv-sim --seed " + std::to_string(seed) + " --nodes " + std::to_string(nodes);
  if (a.steps != kDefaultSteps) cmd += " --steps " + std::to_string(a.steps);
  if (!a.fault.empty()) cmd += " --fault " + a.fault;
  return cmd + " --verbose";
}

void report(const Args& a, std::uint64_t seed, std::size_t nodes, const raftkv::sim::RunResult& r) {
  std::printf(
      "VIOLATION of %s\n  seed %llu, %zu members, at step %llu (t=%llu.%03llums)\n  %s\n"
      "  replay: %s\n",
      r.violation->property.c_str(), ull(seed), nodes, ull(r.step),
      ull(r.time / raftkv::sim::kMillisecond), ull(r.time % raftkv::sim::kMillisecond),
      r.violation->detail.c_str(), replay_command(a, seed, nodes).c_str());
}

struct Totals {
  std::uint64_t seeds = 0;
  raftkv::sim::Stats stats;
  void add(const raftkv::sim::Stats& s) {
    ++seeds;
    stats.events += s.events;
    stats.leaders += s.leaders;
    stats.committed += s.committed;
    stats.reads += s.reads;
    stats.crashes += s.crashes;
    stats.dropped += s.dropped;
    stats.liveness_ticks_max = std::max(stats.liveness_ticks_max, s.liveness_ticks_max);
    stats.catch_up_ticks_max = std::max(stats.catch_up_ticks_max, s.catch_up_ticks_max);
    stats.snapshot_seeds += s.snapshot_seeds;
    stats.snapshots += s.snapshots;
    stats.installs += s.installs;
    stats.transfers += s.transfers;
    stats.transfer_failures += s.transfer_failures;
    stats.conf_changes += s.conf_changes;
  }
};

void summary(const Totals& t, double seconds) {
  const raftkv::sim::Stats& s = t.stats;
  std::printf(
      "sim: %llu seeds, %.2fs, %llu events, %llu leaders elected, %llu entries committed, "
      "%llu reads served, %llu crashes, slowest recovery %llu ticks, %llu proposals dropped; "
      "snapshots on in %llu seeds: %llu taken, %llu installed, %llu transfers (%llu failed), "
      "slowest catch-up %llu ticks; %llu membership changes committed\n",
      ull(t.seeds), seconds, ull(s.events), ull(s.leaders), ull(s.committed), ull(s.reads),
      ull(s.crashes), ull(s.liveness_ticks_max), ull(s.dropped), ull(s.snapshot_seeds),
      ull(s.snapshots), ull(s.installs), ull(s.transfers), ull(s.transfer_failures),
      ull(s.catch_up_ticks_max), ull(s.conf_changes));
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  raftkv::core::UnsafeTestFaults faults;
  if (!a.fault.empty()) set_fault(a.fault, faults);
  auto started = std::chrono::steady_clock::now();  // for the summary only
  Totals totals;
  bool violated = false;
  for (std::uint64_t seed = a.first_seed; seed < a.first_seed + a.seeds; ++seed) {
    std::size_t nodes = a.nodes != 0 ? a.nodes : (seed % 2 == 1 ? 3 : 5);
    raftkv::sim::Cluster cluster(
        raftkv::sim::make_scenario(seed, nodes, a.steps, faults, a.verbose));
    raftkv::sim::RunResult r = cluster.run();
    totals.add(r.stats);
    if (!r.violation) continue;
    report(a, seed, nodes, r);
    if (a.expect_violation) {
      std::printf("caught: first violating seed %llu, after %llu seeds\n", ull(seed),
                  ull(totals.seeds));
    }
    violated = true;
    break;
  }
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
  summary(totals, elapsed.count());
  if (a.expect_violation && !violated) {
    std::printf("expected a violation, but all %llu seeds passed\n", ull(totals.seeds));
  }
  return violated == a.expect_violation ? 0 : 1;
}
