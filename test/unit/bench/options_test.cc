#include <catch2/catch.hpp>

#include <sstream>
#include <vector>

#include "app.h"
#include "options.h"

using namespace raftkv::bench;

namespace {

struct Parsed {
  ParseOutcome outcome;
  Options options;
  std::string error;
};

Parsed parse(std::vector<const char*> args) {
  args.insert(args.begin(), "raftkv-bench");
  Parsed p;
  p.outcome = parse_options(static_cast<int>(args.size()), args.data(), &p.options, &p.error);
  return p;
}

int run_main(std::vector<const char*> args, std::string* out, std::string* err) {
  args.insert(args.begin(), "raftkv-bench");
  std::ostringstream o, e;
  const int code = bench_main(static_cast<int>(args.size()), args.data(), o, e);
  *out = o.str();
  *err = e.str();
  return code;
}

}  // namespace

TEST_CASE("defaults", "[bench][options]") {
  const Parsed p = parse({"--url", "http://127.0.0.1:2020"});
  REQUIRE(p.outcome == ParseOutcome::kRun);
  const RunConfig& r = p.options.run;
  REQUIRE(r.clients == 16);
  REQUIRE(r.pipeline == 1);
  REQUIRE(r.duration_ms == 10'000);
  REQUIRE(r.requests == 0);
  REQUIRE(r.workload.writes_percent == 100);
  REQUIRE(r.workload.keys == 1000);
  REQUIRE(r.value_size == 100);
  REQUIRE(r.timeout_ms == 5'000);
  REQUIRE(r.target == TargetKind::kRaftkv);
  REQUIRE(r.endpoints.size() == 1);
}

TEST_CASE("cluster specs give the members' HTTP addresses", "[bench][options]") {
  const Parsed p = parse({"--cluster", "0,:3030;1,:3031;2,127.0.0.1:3032,127.0.0.1:9000",
                          "--clients=4", "--duration", "2s", "--writes", "10", "--stale", "--zipf",
                          "0.99", "--value-size", "1k", "--json"});
  REQUIRE(p.outcome == ParseOutcome::kRun);
  const RunConfig& r = p.options.run;
  REQUIRE(r.endpoints.size() == 3);
  REQUIRE(r.endpoints[0].host_header() == "127.0.0.1:2020");
  REQUIRE(r.endpoints[1].host_header() == "127.0.0.1:2021");
  REQUIRE(r.endpoints[2].host_header() == "127.0.0.1:9000");
  REQUIRE(r.clients == 4);
  REQUIRE(r.duration_ms == 2000);
  REQUIRE(r.workload.writes_percent == 10);
  REQUIRE(r.stale);
  REQUIRE(r.workload.zipf_s == Approx(0.99));
  REQUIRE(r.value_size == 1024);
  REQUIRE(p.options.json);
}

TEST_CASE("--cas alone leaves the rest to plain writes", "[bench][options]") {
  const Parsed p = parse({"--url", "http://127.0.0.1:2020", "--cas", "30"});
  REQUIRE(p.outcome == ParseOutcome::kRun);
  REQUIRE(p.options.run.workload.writes_percent == 70);
  REQUIRE(p.options.run.workload.cas_percent == 30);
}

TEST_CASE("bad command lines name the flag", "[bench][options]") {
  const std::vector<std::pair<std::vector<const char*>, std::string>> cases = {
      {{"--url", "http://127.0.0.1:2020", "--clients", "0"}, "--clients"},
      {{"--url", "http://127.0.0.1:2020", "--writes", "101"}, "--writes"},
      {{"--url", "http://127.0.0.1:2020", "--duration", "ten"}, "--duration"},
      {{"--url", "ftp://x"}, "--url"},
      {{"--cluster", "0,bad"}, "--cluster"},
      {{"--clients", "4"}, "--url or --cluster"},
      {{"--url", "http://127.0.0.1:2020", "--bogus"}, "--bogus"},
      {{"--url", "http://127.0.0.1:2020", "--target", "redis"}, "--target"},
      {{"--url", "http://127.0.0.1:2020", "--writes", "80", "--cas", "30"}, "--cas"},
      {{"--url", "http://127.0.0.1:2020", "--requests", "5", "--duration", "1s"}, "--requests"},
      {{"--url", "http://127.0.0.1:2020", "--target", "etcd", "--cas", "5"}, "--cas"},
      {{"--url", "http://127.0.0.1:2020", "--csv", "x.csv"}, "--csv"},
      {{"--url", "http://127.0.0.1:2020", "--sweep", "1,x"}, "--sweep"},
      {{"--url", "http://127.0.0.1:2020", "extra"}, "extra"},
  };
  for (const auto& [args, needle] : cases) {
    std::string out, err;
    INFO(needle);
    REQUIRE(run_main(args, &out, &err) == 2);
    REQUIRE(err.find(needle) != std::string::npos);
    REQUIRE(std::count(err.begin(), err.end(), '\n') == 1);
    REQUIRE(out.empty());
  }
}

TEST_CASE("--help and --version exit 0", "[bench][options]") {
  std::string out, err;
  REQUIRE(run_main({"--help"}, &out, &err) == 0);
  REQUIRE(out.find("--clients") != std::string::npos);
  REQUIRE(out.find("--target") != std::string::npos);
  REQUIRE(run_main({"--version"}, &out, &err) == 0);
  REQUIRE(out.rfind("raftkv-bench ", 0) == 0);
}
