// raftkv-dump's command line (shared/interface.md):
//   raftkv-dump DATA_DIR [--json] [--from INDEX] [--to INDEX]
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace raftkv::dump {

struct Options {
  std::string data_dir;
  bool json = false;
  std::uint64_t from = 0;  // entries with from <= index <= to are printed
  std::uint64_t to = std::numeric_limits<std::uint64_t>::max();
  bool help = false;
  bool version = false;
};

// Parses argv[1..]. Returns "" on success, else the one-line reason
// naming the bad flag or value (the caller prints it and exits 2).
std::string parse_options(const std::vector<std::string>& args, Options* out);

const char* usage();

}  // namespace raftkv::dump
