#include "util/log.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <sys/stat.h>

namespace raftkv::util {
namespace {

LogLevel g_level = LogLevel::kInfo;
// journald adds its own timestamps; it sets JOURNAL_STREAM for services
// whose stderr it receives.
bool g_timestamps = !stderr_is_journal(std::getenv("JOURNAL_STREAM"), 2);

// syslog priorities (sd-daemon.h's SD_DEBUG ... SD_ERR), which journald
// reads from the start of each line of a service's stream.
int syslog_priority(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return 7;
    case LogLevel::kInfo:
      return 6;
    case LogLevel::kWarn:
      return 4;
    case LogLevel::kError:
      return 3;
  }
  return 6;
}

std::string timestamp(const timeval& now) {
  tm parts{};
  gmtime_r(&now.tv_sec, &parts);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &parts);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03ldZ", static_cast<long>(now.tv_usec / 1000) % 1000);
  return std::string(stamp) + millis;
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
bool log_timestamps() {
  return g_timestamps;
}

std::string_view log_level_name(LogLevel level) {
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

bool stderr_is_journal(const char* journal_stream, int fd) {
  if (journal_stream == nullptr) return false;
  unsigned long long device = 0;
  unsigned long long inode = 0;
  int consumed = 0;
  if (std::sscanf(journal_stream, "%llu:%llu%n", &device, &inode, &consumed) != 2 ||
      journal_stream[consumed] != '\0') {
    return false;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) return false;
  return st.st_dev == device && st.st_ino == inode;
}

std::string format_log_line(LogLevel level, std::string_view component, std::string_view message,
                            bool timestamps, const timeval& now) {
  // Appends only: GCC 12 misreports `"<" + std::string` (-Wrestrict, PR 105329).
  std::string line;
  if (timestamps) {
    line += timestamp(now);
    line += ' ';
  } else {
    line += '<';
    line += static_cast<char>('0' + syslog_priority(level));
    line += '>';
  }
  line += log_level_name(level);
  line += ' ';
  line += component;
  line += ": ";
  line += message;
  line += '\n';
  return line;
}

void log(LogLevel level, const char* component, const char* format, ...) {
  if (level < g_level) return;
  char message[2048];
  va_list args;
  va_start(args, format);
  std::vsnprintf(message, sizeof message, format, args);
  va_end(args);
  timeval now{};
  if (g_timestamps) gettimeofday(&now, nullptr);
  const std::string line = format_log_line(level, component, message, g_timestamps, now);
  // One write per line so that concurrent writers never interleave mid-line.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace raftkv::util
