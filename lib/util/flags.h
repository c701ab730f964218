// A small command-line parser shared by raftkvd, raftkv-bench and
// raftkv-dump: "--name value", "--name=value" and boolean "--name".
// Each flag has a setter that validates its value, so every program reports
// a bad command line the same way: one line naming the flag.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace raftkv::util {

class FlagParser {
 public:
  // A setter returns false when the value is invalid.
  using Setter = std::function<bool(std::string_view value)>;

  void add(std::string name, std::string value_name, std::string help, Setter setter);
  void add_bool(std::string name, std::string help, std::function<void()> on_set);

  // Parses argv[1..]. Positional arguments are collected in *positional.
  // On failure returns false with *error like "--node: bad value 'x'" or
  // "unknown flag --bogus".
  bool parse(int argc, const char* const* argv, std::vector<std::string>* positional,
             std::string* error) const;

  // One line per flag, for --help.
  std::string usage() const;

 private:
  struct Flag {
    std::string name;
    std::string value_name;  // empty for booleans
    std::string help;
    Setter setter;
  };
  const Flag* find(std::string_view name) const;

  std::vector<Flag> flags_;
};

// Strict number parsers for setters (no sign, no trailing garbage).
std::optional<std::uint64_t> parse_uint(std::string_view text);
// "250ms", "2s", "1m", or a bare number of milliseconds.
std::optional<std::uint64_t> parse_duration_ms(std::string_view text);
// "1024", "64k", "16m", "1g" (binary units).
std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace raftkv::util
