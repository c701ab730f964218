#include "util/log.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <sys/time.h>

namespace raftkv::util {
namespace {

LogLevel g_level = LogLevel::kInfo;
// journald adds its own timestamps; it sets JOURNAL_STREAM for services
// whose stderr it receives.
bool g_timestamps = std::getenv("JOURNAL_STREAM") == nullptr;

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "?";
}

}  // namespace

void set_log_level(LogLevel level) {
  g_level = level;
}
LogLevel log_level() {
  return g_level;
}
void set_log_timestamps(bool on) {
  g_timestamps = on;
}

bool parse_log_level(std::string_view text, LogLevel* out) {
  if (text == "debug")
    *out = LogLevel::kDebug;
  else if (text == "info")
    *out = LogLevel::kInfo;
  else if (text == "warn")
    *out = LogLevel::kWarn;
  else if (text == "error")
    *out = LogLevel::kError;
  else
    return false;
  return true;
}

void log(LogLevel level, const char* component, const char* format, ...) {
  if (level < g_level) return;
  char message[2048];
  va_list args;
  va_start(args, format);
  std::vsnprintf(message, sizeof message, format, args);
  va_end(args);
  if (g_timestamps) {
    timeval now{};
    gettimeofday(&now, nullptr);
    tm parts{};
    gmtime_r(&now.tv_sec, &parts);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &parts);
    std::fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, static_cast<long>(now.tv_usec / 1000),
                 level_name(level), component, message);
  } else {
    std::fprintf(stderr, "%s %s: %s\n", level_name(level), component, message);
  }
}

}  // namespace raftkv::util
