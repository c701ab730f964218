#include "options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "util/cluster_spec.h"
#include "util/flags.h"

namespace raftkv::bench {

namespace {

constexpr const char* kUsageHead =
    "Usage: raftkv-bench --cluster SPEC|--url URL[,URL...] [--clients N]\n"
    "                    [--duration 10s|--requests N] [--writes PERCENT] [--keys N]\n"
    "                    [--value-size BYTES] [--stale] [--json] [more flags below]\n"
    "\n"
    "Load generator for raftkv (and, for comparison, etcd 3.4's v3 JSON gateway or\n"
    "any plain HTTP server). Keeps N keep-alive connections busy, prints a progress\n"
    "line each second on stderr and a summary on stdout: operations, errors by kind\n"
    "(HTTP status codes, timeout, connect, closed, protocol), throughput and latency\n"
    "percentiles. Exit 0 when it ran (errors are counted, not fatal), 1 when no\n"
    "target could be reached, 2 for a bad command line.\n"
    "\n"
    "Operations: writes are PUT /kv/key-N with a VALUE-SIZE body; reads are GET\n"
    "/kv/key-N (linearizable; ?stale=true with --stale) and count a 404 as a\n"
    "successful read of an absent key. --cas PERCENT sends PUT ?prev=V where V is\n"
    "the last value this client wrote to that key; with no such value (or after a\n"
    "412) it sends a plain PUT instead, which re-establishes one. Latency is from\n"
    "request written to response parsed (from the intended send time with --rate).\n"
    "\n"
    "Flags:\n";

std::optional<double> parse_double(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(copy.c_str(), &end);
  if (errno != 0 || end != copy.c_str() + copy.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<std::vector<std::size_t>> parse_count_list(std::string_view text) {
  std::vector<std::size_t> out;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const auto n = util::parse_uint(text.substr(0, comma));
    if (!n || *n == 0 || *n > 100'000) return std::nullopt;
    out.push_back(*n);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

// Setter for an unsigned flag in [lo, hi].
template <typename T>
util::FlagParser::Setter uint_in(T* out, std::uint64_t lo, std::uint64_t hi) {
  return [out, lo, hi](std::string_view v) {
    const auto n = util::parse_uint(v);
    if (!n || *n < lo || *n > hi) return false;
    *out = static_cast<T>(*n);
    return true;
  };
}

util::FlagParser::Setter duration_in(std::uint64_t* out, std::uint64_t lo) {
  return [out, lo](std::string_view v) {
    const auto ms = util::parse_duration_ms(v);
    if (!ms || *ms < lo) return false;
    *out = *ms;
    return true;
  };
}

struct Raw {  // flags whose meaning depends on others, resolved after parsing
  std::string cluster, urls, target = "raftkv";
  bool writes_set = false, requests_set = false, duration_set = false;
  bool help = false, version = false;
};

void add_flags(util::FlagParser& p, Options* o, Raw* raw) {
  RunConfig& r = o->run;
  p.add("cluster", "SPEC", "members ID,RAFT_ADDR[,HTTP_ADDR];... (HTTP default 127.0.0.1:2020+ID)",
        [raw](std::string_view v) {
          raw->cluster = v;
          return !v.empty();
        });
  p.add("url", "URL[,URL...]", "target base URLs, e.g. http://127.0.0.1:2020",
        [raw](std::string_view v) {
          raw->urls = v;
          return !v.empty();
        });
  p.add("target", "KIND", "raftkv (default), etcd (v3 JSON gateway) or plain (GET the URL path)",
        [raw](std::string_view v) {
          raw->target = v;
          TargetKind k;
          return parse_target_kind(v, &k);
        });
  p.add("clients", "N", "concurrent connections (default 16)", uint_in(&r.clients, 1, 100'000));
  p.add("pipeline", "D", "requests in flight per connection (default 1)",
        uint_in(&r.pipeline, 1, 1024));
  p.add("duration", "TIME", "measured run time, e.g. 10s (default 10s)",
        [&r, raw](std::string_view v) {
          raw->duration_set = true;
          return duration_in(&r.duration_ms, 1)(v);
        });
  p.add("requests", "N", "stop after N requests instead of a duration",
        [&r, raw](std::string_view v) {
          raw->requests_set = true;
          return uint_in(&r.requests, 1, ~0ull)(v);
        });
  p.add("warmup", "TIME", "unmeasured run time before the measurement (default 0)",
        duration_in(&r.warmup_ms, 0));
  p.add("writes", "PERCENT", "percent of writes (default 100; reads are the rest)",
        [&r, raw](std::string_view v) {
          raw->writes_set = true;
          return uint_in(&r.workload.writes_percent, 0, 100)(v);
        });
  p.add("cas", "PERCENT", "percent of compare-and-set writes (default 0)",
        uint_in(&r.workload.cas_percent, 0, 100));
  p.add("keys", "N", "key space key-0 .. key-(N-1) (default 1000)",
        uint_in(&r.workload.keys, 1, 100'000'000));
  p.add("value-size", "BYTES", "value size, e.g. 100 or 4k (default 100)",
        [&r](std::string_view v) {
          const auto n = util::parse_size(v);
          if (!n || *n > (64ull << 20)) return false;
          r.value_size = *n;
          return true;
        });
  p.add("zipf", "S", "Zipf-distributed keys with exponent S (default: uniform)",
        [&r](std::string_view v) {
          const auto s = parse_double(v);
          if (!s || *s <= 0 || *s > 10) return false;
          r.workload.zipf_s = *s;
          return true;
        });
  p.add_bool("stale", "reads with ?stale=true (etcd: serializable)", [&r] { r.stale = true; });
  p.add("rate", "R", "open loop at R requests/s in total (default: closed loop)",
        [&r](std::string_view v) {
          const auto rate = parse_double(v);
          if (!rate || *rate <= 0 || *rate > 1e8) return false;
          r.rate = *rate;
          return true;
        });
  p.add("timeout", "TIME", "per-request timeout; the connection is then reopened (default 5s)",
        duration_in(&r.timeout_ms, 1));
  p.add_bool("prefill", "write every key once before the run (unmeasured)",
             [&r] { r.prefill = true; });
  p.add("seed", "N", "workload random seed (default 1)", uint_in(&r.workload.seed, 0, ~0ull));
  p.add_bool("leader-only", "send everything to the leader (asks GET /status first)",
             [o] { o->leader_only = true; });
  p.add_bool("json", "print the summary as one JSON object", [o] { o->json = true; });
  p.add("sweep", "N,N,...", "run once per client count and print a table", [o](std::string_view v) {
    auto list = parse_count_list(v);
    if (list) o->sweep = std::move(*list);
    return list.has_value();
  });
  p.add("csv", "FILE", "with --sweep: also write the table as CSV", [o](std::string_view v) {
    o->csv_path = v;
    return !v.empty();
  });
  p.add_bool("quiet", "no progress lines", [&r] { r.progress = false; });
  p.add_bool("help", "print this help", [raw] { raw->help = true; });
  p.add_bool("version", "print the version", [raw] { raw->version = true; });
}

bool resolve_endpoints(const Raw& raw, Options* o, std::string* error) {
  if (raw.cluster.empty() == raw.urls.empty()) {
    *error = raw.cluster.empty() ? "--url or --cluster is required"
                                 : "--url: cannot be combined with --cluster";
    return false;
  }
  if (!raw.urls.empty()) {
    std::string bad;
    auto endpoints = parse_url_list(raw.urls, &bad);
    if (!endpoints) {
      *error = "--url: bad URL '" + bad + "'";
      return false;
    }
    o->run.endpoints = std::move(*endpoints);
    return true;
  }
  std::string why;
  const auto members = util::parse_cluster_spec(raw.cluster, &why);
  if (!members) {
    *error = "--cluster: " + why;
    return false;
  }
  for (const util::MemberSpec& member : *members)
    o->run.endpoints.push_back(Endpoint{util::default_http_address(member), "/"});
  return true;
}

bool check_combinations(const Raw& raw, Options* o, std::string* error) {
  RunConfig& r = o->run;
  parse_target_kind(raw.target, &r.target);
  // --cas alone means "this much CAS, the rest plain writes".
  if (!raw.writes_set) r.workload.writes_percent = 100 - std::min(100u, r.workload.cas_percent);
  if (r.workload.writes_percent + r.workload.cas_percent > 100) {
    *error = "--cas: writes + cas exceed 100 percent";
    return false;
  }
  if (raw.requests_set && raw.duration_set) {
    *error = "--requests: cannot be combined with --duration";
    return false;
  }
  if (r.workload.cas_percent > 0 && r.target != TargetKind::kRaftkv) {
    *error = "--cas: only supported with --target raftkv";
    return false;
  }
  if (o->leader_only && r.target != TargetKind::kRaftkv) {
    *error = "--leader-only: only supported with --target raftkv";
    return false;
  }
  if (!o->csv_path.empty() && o->sweep.empty()) {
    *error = "--csv: needs --sweep";
    return false;
  }
  return true;
}

}  // namespace

std::string usage_text() {
  Options options;
  Raw raw;
  util::FlagParser parser;
  add_flags(parser, &options, &raw);
  return std::string(kUsageHead) + parser.usage();
}

ParseOutcome parse_options(int argc, const char* const* argv, Options* options,
                           std::string* error) {
  Raw raw;
  util::FlagParser parser;
  add_flags(parser, options, &raw);
  std::vector<std::string> positional;
  if (!parser.parse(argc, argv, &positional, error)) return ParseOutcome::kError;
  if (raw.help) return ParseOutcome::kHelp;
  if (raw.version) return ParseOutcome::kVersion;
  if (!positional.empty()) {
    *error = "unexpected argument '" + positional.front() + "'";
    return ParseOutcome::kError;
  }
  if (!resolve_endpoints(raw, options, error) || !check_combinations(raw, options, error))
    return ParseOutcome::kError;
  return ParseOutcome::kRun;
}

}  // namespace raftkv::bench
