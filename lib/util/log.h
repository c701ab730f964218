// One line per event on stderr: "LEVEL component: message". Timestamps are
// added unless stderr goes to the systemd journal (which stamps lines
// itself); for the journal each line starts with a syslog priority prefix
// ("<6>") instead, so that `journalctl -p warning` works. printf-style so
// that formatting costs nothing when the level is filtered out.
#pragma once

#include <string>
#include <string_view>

#include <sys/time.h>

namespace raftkv::util {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();
// Parses "debug", "info", "warn", "error"; false for anything else.
bool parse_log_level(std::string_view text, LogLevel* out);
std::string_view log_level_name(LogLevel level);  // "DEBUG", "INFO", ...

// Timestamped lines (true) or journal lines (false). The default is
// journal lines when stderr_is_journal(getenv("JOURNAL_STREAM"), 2).
void set_log_timestamps(bool on);
bool log_timestamps();

// Whether `fd` is the journal stream systemd described in JOURNAL_STREAM
// ("DEVICE:INODE"). Comparing with fstat() rather than trusting the
// variable alone matters: a child of a service inherits the variable even
// when its stderr has been redirected elsewhere.
bool stderr_is_journal(const char* journal_stream, int fd);

// The text of one line, newline included. `now` is only read for
// timestamped lines.
std::string format_log_line(LogLevel level, std::string_view component, std::string_view message,
                            bool timestamps, const timeval& now);

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
