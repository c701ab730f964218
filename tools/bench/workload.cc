#include "workload.h"

namespace raftkv::bench {

Workload::Workload(const WorkloadConfig& config) : config_(config), rng_(config.seed) {
  if (config_.zipf_s) zipf_.emplace(config_.keys, *config_.zipf_s);
}

Op Workload::next() {
  Op op;
  const std::uint64_t roll = rng_.below(100);
  if (roll < config_.writes_percent)
    op.kind = OpKind::kWrite;
  else if (roll < config_.writes_percent + config_.cas_percent)
    op.kind = OpKind::kCas;
  else
    op.kind = OpKind::kRead;
  op.key = zipf_ ? zipf_->sample(rng_) : rng_.below(config_.keys);
  return op;
}

}  // namespace raftkv::bench
