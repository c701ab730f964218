// What each request does: the operation mix (writes / compare-and-sets /
// reads, in percent) and which key it touches (uniform, or Zipf-skewed).
#pragma once

#include <cstdint>
#include <optional>

#include "rng.h"
#include "zipf.h"

namespace raftkv::bench {

enum class OpKind : std::uint8_t { kWrite, kRead, kCas };

struct Op {
  OpKind kind = OpKind::kWrite;
  std::uint64_t key = 0;  // index in [0, keys)
};

struct WorkloadConfig {
  unsigned writes_percent = 100;
  unsigned cas_percent = 0;  // reads are what remains of 100
  std::uint64_t keys = 1000;
  std::optional<double> zipf_s;  // nullopt: uniform keys
  std::uint64_t seed = 1;
};

class Workload {
 public:
  explicit Workload(const WorkloadConfig& config);

  Op next();

 private:
  WorkloadConfig config_;
  Rng rng_;
  std::optional<ZipfGenerator> zipf_;
};

}  // namespace raftkv::bench
