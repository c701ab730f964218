#include <catch2/catch.hpp>

#include <vector>

#include "workload.h"
#include "zipf.h"

using namespace raftkv::bench;

TEST_CASE("zipf: rank 1 is the most frequent and frequencies follow 1/k^s", "[bench][zipf]") {
  const ZipfGenerator zipf(1000, 1.0);
  Rng rng(7);
  std::vector<int> counts(1000);
  const int n = 200'000;
  for (int i = 0; i < n; ++i) {
    const auto k = zipf.sample(rng);
    REQUIRE(k < 1000);
    ++counts[k];
  }
  REQUIRE(counts[0] > counts[1]);
  REQUIRE(counts[1] > counts[2]);
  REQUIRE(counts[2] > counts[9]);
  REQUIRE(counts[9] > counts[99]);
  for (const std::size_t k : {0u, 1u, 9u}) {
    const double expected = zipf.probability(k) * n;
    REQUIRE(std::abs(counts[k] - expected) / expected < 0.05);
  }
  // P(1)/P(2) = 2 for s = 1.
  REQUIRE(zipf.probability(0) / zipf.probability(1) == Approx(2.0));
}

TEST_CASE("zipf and the workload are deterministic with a seed", "[bench][zipf]") {
  const ZipfGenerator zipf(100, 0.99);
  Rng a(123), b(123), c(124);
  std::vector<std::uint64_t> xs, ys, zs;
  for (int i = 0; i < 100; ++i) {
    xs.push_back(zipf.sample(a));
    ys.push_back(zipf.sample(b));
    zs.push_back(zipf.sample(c));
  }
  REQUIRE(xs == ys);
  REQUIRE(xs != zs);

  WorkloadConfig config;
  config.writes_percent = 30;
  config.cas_percent = 20;
  config.keys = 50;
  config.zipf_s = 1.2;
  config.seed = 9;
  Workload w1(config), w2(config);
  int writes = 0, cas = 0, reads = 0;
  for (int i = 0; i < 10'000; ++i) {
    const Op x = w1.next(), y = w2.next();
    REQUIRE(x.kind == y.kind);
    REQUIRE(x.key == y.key);
    REQUIRE(x.key < 50);
    (x.kind == OpKind::kWrite ? writes : x.kind == OpKind::kCas ? cas : reads)++;
  }
  REQUIRE(std::abs(writes - 3000) < 300);
  REQUIRE(std::abs(cas - 2000) < 300);
  REQUIRE(std::abs(reads - 5000) < 300);
}

TEST_CASE("a single-key zipf always picks key 0", "[bench][zipf]") {
  const ZipfGenerator zipf(1, 2.0);
  Rng rng(1);
  for (int i = 0; i < 100; ++i) REQUIRE(zipf.sample(rng) == 0);
}
