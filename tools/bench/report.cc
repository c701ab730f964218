#include "report.h"

#include <cinttypes>
#include <cstdio>

namespace raftkv::bench {

namespace {

double ms(std::uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

// printf into a std::string (no <format> in g++ 12).
template <typename... Args>
std::string print(const char* format, Args... args) {
  char buf[256];
  const int n = std::snprintf(buf, sizeof buf, format, args...);
  return std::string(buf, static_cast<std::size_t>(n < 0 ? 0 : n));
}

struct Percentiles {
  double p50, p90, p99, p999, max;
};

Percentiles percentiles(const Histogram& h) {
  return {ms(h.percentile(50)), ms(h.percentile(90)), ms(h.percentile(99)), ms(h.percentile(99.9)),
          ms(h.max())};
}

}  // namespace

void ErrorCounts::add_status(int code) {
  if (code >= 0 && code < static_cast<int>(status.size())) ++status[static_cast<std::size_t>(code)];
}

std::uint64_t ErrorCounts::total() const {
  std::uint64_t sum = timeout + connect + closed + protocol;
  for (const std::uint64_t n : status) sum += n;
  return sum;
}

std::vector<std::pair<std::string, std::uint64_t>> ErrorCounts::kinds() const {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (std::size_t code = 0; code < status.size(); ++code)
    if (status[code] != 0) out.emplace_back(std::to_string(code), status[code]);
  if (timeout != 0) out.emplace_back("timeout", timeout);
  if (connect != 0) out.emplace_back("connect", connect);
  if (closed != 0) out.emplace_back("closed", closed);
  if (protocol != 0) out.emplace_back("protocol", protocol);
  return out;
}

std::string format_progress(double elapsed_s, double ops_per_s, std::uint64_t errors,
                            std::uint64_t p99_ns, const char* phase) {
  return print("[%6.1fs] %10.0f ops/s  errors %" PRIu64 "  p99 %.3f ms%s%s\n", elapsed_s, ops_per_s,
               errors, ms(p99_ns), *phase ? "  " : "", phase);
}

std::string format_summary_text(const Summary& s) {
  const Percentiles p = percentiles(s.stats.latency);
  std::string out;
  out += print("target:      %s, %zu clients, %u%% writes, %" PRIu64 "-byte values\n",
               s.target.c_str(), s.clients, s.writes_percent, s.value_size);
  out += print("operations:  %" PRIu64 " in %.2f s", s.stats.ops, s.duration_s);
  if (s.stats.not_found != 0) out += print(" (%" PRIu64 " reads found no key)", s.stats.not_found);
  out += "\n";
  out += print("errors:      %" PRIu64 "\n", s.stats.errors.total());
  for (const auto& [kind, count] : s.stats.errors.kinds())
    out += print("  %s: %" PRIu64 "\n", kind.c_str(), count);
  out += print("throughput:  %.1f ops/s\n", s.throughput());
  out += print("latency ms:  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", p.p50, p.p90,
               p.p99, p.p999, p.max);
  return out;
}

std::string format_summary_json(const Summary& s) {
  const Percentiles p = percentiles(s.stats.latency);
  std::string out = print("{\"ops\":%" PRIu64 ",\"errors\":{", s.stats.ops);
  bool first = true;
  for (const auto& [kind, count] : s.stats.errors.kinds()) {
    out += print("%s\"%s\":%" PRIu64, first ? "" : ",", kind.c_str(), count);
    first = false;
  }
  out += print("},\"errors_total\":%" PRIu64 ",\"not_found\":%" PRIu64, s.stats.errors.total(),
               s.stats.not_found);
  out += print(",\"duration_s\":%.3f,\"throughput\":%.1f", s.duration_s, s.throughput());
  out +=
      print(",\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}",
            p.p50, p.p90, p.p99, p.p999, p.max);
  out += print(",\"clients\":%zu,\"writes_percent\":%u,\"value_size\":%" PRIu64
               ",\"target\":\"%s\"}\n",
               s.clients, s.writes_percent, s.value_size, s.target.c_str());
  return out;
}

std::string format_sweep_table(const std::vector<Summary>& rows) {
  std::string out =
      print("%8s %12s %10s %10s %10s\n", "clients", "ops/s", "p50 ms", "p99 ms", "errors");
  for (const Summary& s : rows) {
    const Percentiles p = percentiles(s.stats.latency);
    out += print("%8zu %12.1f %10.3f %10.3f %10" PRIu64 "\n", s.clients, s.throughput(), p.p50,
                 p.p99, s.stats.errors.total());
  }
  return out;
}

std::string format_sweep_csv(const std::vector<Summary>& rows) {
  std::string out = "clients,ops_per_s,p50_ms,p99_ms,errors\n";
  for (const Summary& s : rows) {
    const Percentiles p = percentiles(s.stats.latency);
    out += print("%zu,%.1f,%.3f,%.3f,%" PRIu64 "\n", s.clients, s.throughput(), p.p50, p.p99,
                 s.stats.errors.total());
  }
  return out;
}

}  // namespace raftkv::bench
