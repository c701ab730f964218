// raftkv-dump: prints and verifies a member's data directory (read-only).
#include <iostream>
#include <string>
#include <vector>

#include "dump.h"
#include "options.h"
#include "storage/segment.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  raftkv::dump::Options options;
  if (const std::string error = raftkv::dump::parse_options(args, &options); !error.empty()) {
    std::cerr << "raftkv-dump: " << error << " (see --help)\n";
    return 2;
  }
  if (options.help) {
    std::cout << raftkv::dump::usage();
    return 0;
  }
  if (options.version) {
    std::cout << "raftkv-dump " << RAFTKV_VERSION << " (disk format "
              << raftkv::storage::kFormatVersion << ")\n";
    return 0;
  }
  return raftkv::dump::run_dump(options, std::cout, std::cerr);
}
