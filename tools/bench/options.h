// raftkv-bench's command line: flags, their defaults and checks. Parsing
// never touches the network; endpoints are resolved from --url or --cluster
// here and the leader (for --leader-only) is found later.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "runner.h"

namespace raftkv::bench {

struct Options {
  RunConfig run;                   // endpoints, workload and pacing
  std::vector<std::size_t> sweep;  // client counts for --sweep; empty: one run
  std::string csv_path;            // --csv FILE (with --sweep)
  bool leader_only = false;
  bool json = false;
};

enum class ParseOutcome { kRun, kHelp, kVersion, kError };

// *error is one line naming the bad flag when the outcome is kError.
ParseOutcome parse_options(int argc, const char* const* argv, Options* options, std::string* error);
std::string usage_text();

}  // namespace raftkv::bench
