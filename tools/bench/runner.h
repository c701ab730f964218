// One benchmark run on a libuv loop: N client connections spread
// round-robin over the endpoints, each keeping up to --pipeline requests in
// flight (closed loop), or fed from a fixed-rate schedule (open loop: latency
// counts from the intended send time, so a slow server cannot hide its
// queueing delay — no coordinated omission).
//
// Phases: connecting -> [prefill] -> [warmup] -> measure -> done. Only the
// measure phase is counted. The run ends after --duration or once --requests
// answers (or errors) were counted; requests still in flight are dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <uv.h>

#include "endpoint.h"
#include "report.h"
#include "target.h"
#include "workload.h"

namespace raftkv::bench {

struct RunConfig {
  std::vector<Endpoint> endpoints;
  TargetKind target = TargetKind::kRaftkv;
  bool stale = false;
  std::size_t clients = 16;
  std::size_t pipeline = 1;
  std::uint64_t duration_ms = 10'000;
  std::uint64_t requests = 0;  // > 0: stop after this many instead of duration_ms
  std::uint64_t warmup_ms = 0;
  double rate = 0;  // total requests per second; 0: closed loop
  std::uint64_t timeout_ms = 5'000;
  std::uint64_t connect_deadline_ms = 5'000;  // give up when nothing connects by then
  WorkloadConfig workload;
  std::uint64_t value_size = 100;
  bool prefill = false;  // write every key once before the run (not counted)
  bool progress = true;  // one line per second on the progress stream
};

struct RunResult {
  bool ok = false;
  std::string failure;  // why the run could not start, when !ok
  std::string note;     // why a run that did start ended early, if it did
  Summary summary;
};

// Runs to completion on `loop` (which may also carry other handles: the run
// only waits for its own). Progress lines go to `progress`.
RunResult run_benchmark(uv_loop_t* loop, const RunConfig& config,
                        const std::function<void(const std::string&)>& progress);

}  // namespace raftkv::bench
