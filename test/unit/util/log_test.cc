#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

using namespace raftkv::util;

namespace {

// 2024-03-01T12:34:56.789Z
timeval fixed_time() {
  timeval now{};
  now.tv_sec = 1709296496;
  now.tv_usec = 789123;
  return now;
}

// "DEVICE:INODE" of `fd`, as systemd writes it into JOURNAL_STREAM.
std::string journal_stream_of(int fd) {
  struct stat st {};
  REQUIRE(fstat(fd, &st) == 0);
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

}  // namespace

TEST_CASE("timestamped lines: UTC time with milliseconds, level, component", "[log]") {
  CHECK(format_log_line(LogLevel::kInfo, "node", "term 3: leader is 1", true, fixed_time()) ==
        "2024-03-01T12:34:56.789Z INFO node: term 3: leader is 1\n");
  CHECK(format_log_line(LogLevel::kError, "storage", "x", true, fixed_time()) ==
        "2024-03-01T12:34:56.789Z ERROR storage: x\n");
}

TEST_CASE("journal lines: syslog priority prefix and level, no timestamp", "[log]") {
  const timeval now = fixed_time();
  CHECK(format_log_line(LogLevel::kDebug, "c", "m", false, now) == "<7>DEBUG c: m\n");
  CHECK(format_log_line(LogLevel::kInfo, "c", "m", false, now) == "<6>INFO c: m\n");
  CHECK(format_log_line(LogLevel::kWarn, "c", "m", false, now) == "<4>WARN c: m\n");
  CHECK(format_log_line(LogLevel::kError, "c", "m", false, now) == "<3>ERROR c: m\n");
}

TEST_CASE("JOURNAL_STREAM counts only when it names the fd's own file", "[log]") {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  const int fd = fileno(file);
  const std::string mine = journal_stream_of(fd);
  CHECK(stderr_is_journal(mine.c_str(), fd));
  CHECK_FALSE(stderr_is_journal(nullptr, fd));
  CHECK_FALSE(stderr_is_journal("", fd));
  CHECK_FALSE(stderr_is_journal("garbage", fd));
  CHECK_FALSE(stderr_is_journal((mine + "x").c_str(), fd));
  CHECK_FALSE(stderr_is_journal("1:2", fd));

  // The variable inherited by a process whose stderr was redirected elsewhere.
  std::FILE* other = std::tmpfile();
  REQUIRE(other != nullptr);
  CHECK_FALSE(stderr_is_journal(mine.c_str(), fileno(other)));
  std::fclose(other);
  std::fclose(file);
}

TEST_CASE("level names and parsing round-trip", "[log]") {
  for (const char* name : {"debug", "info", "warn", "error"}) {
    LogLevel level{};
    REQUIRE(parse_log_level(name, &level));
    std::string upper;
    for (const char* p = name; *p != '\0'; ++p) upper += static_cast<char>(*p - 'a' + 'A');
    CHECK(log_level_name(level) == upper);
  }
  LogLevel level = LogLevel::kInfo;
  CHECK_FALSE(parse_log_level("INFO", &level));
  CHECK_FALSE(parse_log_level("verbose", &level));
  CHECK(level == LogLevel::kInfo);
}
