#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "histogram.h"
#include "rng.h"

using raftkv::bench::Histogram;
using raftkv::bench::Rng;

TEST_CASE("histogram buckets are contiguous and narrow", "[bench][histogram]") {
  for (std::size_t i = 0; i + 1 < Histogram::kBuckets; ++i) {
    REQUIRE(Histogram::bucket_upper(i) + 1 == Histogram::bucket_lower(i + 1));
    REQUIRE(Histogram::bucket_index(Histogram::bucket_lower(i)) == i);
    REQUIRE(Histogram::bucket_index(Histogram::bucket_upper(i)) == i);
    const double width =
        static_cast<double>(Histogram::bucket_upper(i) - Histogram::bucket_lower(i) + 1);
    if (Histogram::bucket_lower(i) >= Histogram::kSubCount)  // below: exact integers
      REQUIRE(width / static_cast<double>(Histogram::bucket_lower(i)) <= 1.0 / 128);
  }
  // 60 s in nanoseconds is inside the tracked range.
  REQUIRE(Histogram::kMaxTracked >= 60'000'000'000ull);
  REQUIRE(Histogram::bucket_index(~0ull) == Histogram::kBuckets - 1);
}

TEST_CASE("histogram percentiles are within 1% from 1 us to 60 s", "[bench][histogram]") {
  Rng rng(42);
  std::vector<std::uint64_t> values;
  Histogram h;
  // Log-uniform over [1 us, 60 s].
  for (int i = 0; i < 100'000; ++i) {
    const double exponent = 3 + rng.uniform() * (std::log10(60e9) - 3);
    const auto v = static_cast<std::uint64_t>(std::pow(10.0, exponent));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  REQUIRE(h.count() == values.size());
  REQUIRE(h.max() == values.back());
  REQUIRE(h.min() == values.front());
  for (const double p : {0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const auto rank = std::max<std::size_t>(
        1, static_cast<std::size_t>(std::ceil(p / 100 * static_cast<double>(values.size()))));
    const double exact = static_cast<double>(values[rank - 1]);
    const double got = static_cast<double>(h.percentile(p));
    INFO("p" << p << " exact " << exact << " got " << got);
    REQUIRE(std::abs(got - exact) / exact < 0.01);
  }
}

TEST_CASE("histogram single values, merge and reset", "[bench][histogram]") {
  Histogram h;
  REQUIRE(h.percentile(50) == 0);
  for (const std::uint64_t v : {1'000ull, 12'345ull, 1'000'000ull, 59'999'999'999ull}) {
    Histogram one;
    one.record(v);
    const double got = static_cast<double>(one.percentile(50));
    REQUIRE(std::abs(got - static_cast<double>(v)) / static_cast<double>(v) < 0.01);
    h.merge(one);
  }
  REQUIRE(h.count() == 4);
  REQUIRE(h.max() == 59'999'999'999ull);
  REQUIRE(h.min() == 1'000);
  // 1..100 ms uniformly: p50 ~ 50 ms, p90 ~ 90 ms, p99 ~ 99 ms.
  Histogram u;
  for (std::uint64_t ms = 1; ms <= 100; ++ms) u.record(ms * 1'000'000);
  REQUIRE(std::abs(static_cast<double>(u.percentile(50)) - 50e6) / 50e6 < 0.01);
  REQUIRE(std::abs(static_cast<double>(u.percentile(90)) - 90e6) / 90e6 < 0.01);
  REQUIRE(std::abs(static_cast<double>(u.percentile(99)) - 99e6) / 99e6 < 0.01);
  REQUIRE(u.mean() == Approx(50.5e6));
  u.reset();
  REQUIRE(u.count() == 0);
  REQUIRE(u.max() == 0);
}
