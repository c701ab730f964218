// The program behind main(): finds the leader if asked, runs the benchmark
// once or once per --sweep client count, and prints the results. Separate
// from main() so tests can drive it on their own loop and read its output.
#pragma once

#include <ostream>
#include <vector>

#include <uv.h>

#include "options.h"
#include "report.h"

namespace raftkv::bench {

struct AppResult {
  int exit_code = 0;
  std::vector<Summary> runs;
};

AppResult run_app(const Options& options, uv_loop_t* loop, std::ostream& out, std::ostream& err);

// argv in, exit status out: parsing (exit 2 on a bad command line), --help,
// --version, then run_app on a loop of its own.
int bench_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace raftkv::bench
