#include "util/flags.h"

#include <charconv>

namespace raftkv::util {

void FlagParser::add(std::string name, std::string value_name, std::string help, Setter setter) {
  flags_.push_back({std::move(name), std::move(value_name), std::move(help), std::move(setter)});
}

void FlagParser::add_bool(std::string name, std::string help, std::function<void()> on_set) {
  flags_.push_back({std::move(name), "", std::move(help), [on_set](std::string_view) {
                      on_set();
                      return true;
                    }});
}

const FlagParser::Flag* FlagParser::find(std::string_view name) const {
  for (const Flag& flag : flags_) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

bool FlagParser::parse(int argc, const char* const* argv, std::vector<std::string>* positional,
                       std::string* error) const {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.size() < 3 || arg.substr(0, 2) != "--") {
      positional->emplace_back(arg);
      continue;
    }
    const auto equals = arg.find('=');
    const std::string_view name =
        arg.substr(2, equals == std::string_view::npos ? std::string_view::npos : equals - 2);
    const Flag* flag = find(name);
    if (flag == nullptr) {
      *error = "unknown flag --" + std::string(name);
      return false;
    }
    std::string_view value;
    if (flag->value_name.empty()) {
      if (equals != std::string_view::npos) {
        *error = "--" + flag->name + " takes no value";
        return false;
      }
    } else if (equals != std::string_view::npos) {
      value = arg.substr(equals + 1);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      *error = "--" + flag->name + ": missing value";
      return false;
    }
    if (!flag->setter(value)) {
      *error = "--" + flag->name + ": bad value '" + std::string(value) + "'";
      return false;
    }
  }
  return true;
}

std::string FlagParser::usage() const {
  std::string out;
  for (const Flag& flag : flags_) {
    std::string left = "  --" + flag.name;
    if (!flag.value_name.empty()) left += " " + flag.value_name;
    if (left.size() < 32)
      left.resize(32, ' ');
    else
      left += "  ";
    out += left + flag.help + "\n";
  }
  return out;
}

std::optional<std::uint64_t> parse_uint(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

namespace {

// Splits "123abc" into 123 and "abc".
std::optional<std::pair<std::uint64_t, std::string_view>> number_and_unit(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const auto number = parse_uint(text.substr(0, digits));
  if (!number) return std::nullopt;
  return std::make_pair(*number, text.substr(digits));
}

std::optional<std::uint64_t> scaled(std::uint64_t number, std::uint64_t factor) {
  if (factor != 0 && number > ~std::uint64_t{0} / factor) return std::nullopt;
  return number * factor;
}

}  // namespace

std::optional<std::uint64_t> parse_duration_ms(std::string_view text) {
  const auto parts = number_and_unit(text);
  if (!parts) return std::nullopt;
  const auto [number, unit] = *parts;
  if (unit.empty() || unit == "ms") return number;
  if (unit == "s") return scaled(number, 1000);
  if (unit == "m") return scaled(number, 60'000);
  return std::nullopt;
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  const auto parts = number_and_unit(text);
  if (!parts) return std::nullopt;
  const auto [number, unit] = *parts;
  if (unit.empty()) return number;
  if (unit == "k" || unit == "K" || unit == "KiB") return scaled(number, 1ull << 10);
  if (unit == "m" || unit == "M" || unit == "MiB") return scaled(number, 1ull << 20);
  if (unit == "g" || unit == "G" || unit == "GiB") return scaled(number, 1ull << 30);
  return std::nullopt;
}

}  // namespace raftkv::util
