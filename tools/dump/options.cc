#include "options.h"

#include <charconv>

namespace raftkv::dump {

const char* usage() {
  return "usage: raftkv-dump DATA_DIR [--json] [--from INDEX] [--to INDEX]\n"
         "\n"
         "Prints and verifies a raftkvd data directory without modifying it: the\n"
         "hard state, snapshot metadata, every log segment and entry (index, term,\n"
         "type, decoded command) and every truncation record. Every checksum is\n"
         "verified.\n"
         "\n"
         "  --json         one JSON object per line\n"
         "  --from INDEX   print entries from INDEX on (default: the first)\n"
         "  --to INDEX     print entries up to INDEX (default: the last)\n"
         "  --help         this text\n"
         "  --version      the version\n"
         "\n"
         "Exit status: 0 intact; 1 corrupt or torn (the file and byte offset are\n"
         "named) or unreadable; 2 bad command line.\n";
}

namespace {

bool parse_index(const std::string& text, std::uint64_t* out) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return !text.empty() && ec == std::errc() && ptr == end;
}

// Splits "--flag=value" into flag and value.
bool split_inline(const std::string& arg, std::string* flag, std::string* value) {
  const std::size_t eq = arg.find('=');
  if (arg.rfind("--", 0) != 0 || eq == std::string::npos) return false;
  *flag = arg.substr(0, eq);
  *value = arg.substr(eq + 1);
  return true;
}

std::string take_index(const std::string& flag, const std::string& value, std::uint64_t* out) {
  if (!parse_index(value, out)) return "invalid value for " + flag + ": '" + value + "'";
  return "";
}

}  // namespace

std::string parse_options(const std::vector<std::string>& args, Options* out) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::string value;
    const bool has_inline = split_inline(args[i], &arg, &value);
    if (arg == "--help" || arg == "-h") {
      out->help = true;
    } else if (arg == "--version") {
      out->version = true;
    } else if (arg == "--json" && !has_inline) {
      out->json = true;
    } else if (arg == "--from" || arg == "--to") {
      if (!has_inline) {
        if (i + 1 >= args.size()) return "missing value for " + arg;
        value = args[++i];
      }
      const std::string error = take_index(arg, value, arg == "--from" ? &out->from : &out->to);
      if (!error.empty()) return error;
    } else if (arg.rfind("-", 0) == 0 && arg != "-") {
      return "unknown flag " + args[i];
    } else if (out->data_dir.empty()) {
      out->data_dir = arg;
    } else {
      return "unexpected argument '" + arg + "' (one DATA_DIR only)";
    }
  }
  if (out->help || out->version) return "";
  if (out->data_dir.empty()) return "missing DATA_DIR";
  if (out->from > out->to) return "invalid range: --from is above --to";
  return "";
}

}  // namespace raftkv::dump
