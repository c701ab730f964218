// One line per event on stderr: "LEVEL component: message". Timestamps are
// added unless stderr goes to the systemd journal (which stamps lines
// itself). printf-style so that formatting costs nothing when the level is
// filtered out.
#pragma once

#include <string_view>

namespace raftkv::util {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();
// Parses "debug", "info", "warn", "error"; false for anything else.
bool parse_log_level(std::string_view text, LogLevel* out);
// Whether lines carry a timestamp (default: yes unless JOURNAL_STREAM is set).
void set_log_timestamps(bool on);

[[gnu::format(printf, 3, 4)]] void log(LogLevel level, const char* component, const char* format,
                                       ...);

}  // namespace raftkv::util

#define RKV_DEBUG(component, ...)                                                    \
  do {                                                                               \
    if (::raftkv::util::log_level() <= ::raftkv::util::LogLevel::kDebug)             \
      ::raftkv::util::log(::raftkv::util::LogLevel::kDebug, component, __VA_ARGS__); \
  } while (0)
#define RKV_INFO(component, ...) \
  ::raftkv::util::log(::raftkv::util::LogLevel::kInfo, component, __VA_ARGS__)
#define RKV_WARN(component, ...) \
  ::raftkv::util::log(::raftkv::util::LogLevel::kWarn, component, __VA_ARGS__)
#define RKV_ERROR(component, ...) \
  ::raftkv::util::log(::raftkv::util::LogLevel::kError, component, __VA_ARGS__)
