// fs::write_and_sync: a segment write and its fdatasync as one threadpool job.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "storage/fs_request.h"
#include "test_util.h"

using namespace raftkv::storage;
using namespace raftkv::storage::test;

namespace {

// Runs one write_and_sync to completion; nullopt if no callback came.
std::optional<fs::WriteSyncResult> run_write_and_sync(int fd, std::string bytes,
                                                      std::int64_t offset) {
  Loop loop;
  auto owner = std::make_shared<int>(0);
  std::optional<fs::WriteSyncResult> got;
  fs::write_and_sync(loop.get(), owner, fd, std::make_shared<const std::string>(std::move(bytes)),
                     offset, [&got](const fs::WriteSyncResult& result) { got = result; });
  loop.run();
  return got;
}

}  // namespace

TEST_CASE("write_and_sync writes every byte at the offset, then syncs", "[fs]") {
  TempDir tmp;
  const std::string path = tmp.file("segment");
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, "head", 4, 0) == 4);
  const std::string big(3 << 20, 'x');  // several MiB: may take more than one pwrite
  const auto result = run_write_and_sync(fd, big, 4);
  ::close(fd);
  REQUIRE(result.has_value());
  CHECK(result->write == 0);
  CHECK(result->synced);
  CHECK(result->sync == 0);
  CHECK(read_file(path) == "head" + big);
}

TEST_CASE("write_and_sync reports a failed write and does not sync", "[fs]") {
  TempDir tmp;
  const std::string path = tmp.file("read-only");
  { std::ofstream(path) << "x"; }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const auto result = run_write_and_sync(fd, "bytes", 0);
  ::close(fd);
  REQUIRE(result.has_value());
  CHECK(result->write == -EBADF);
  CHECK_FALSE(result->synced);
  CHECK(read_file(path) == "x");
}

TEST_CASE("write_and_sync skips the callback of an owner that is gone", "[fs]") {
  TempDir tmp;
  const std::string path = tmp.file("segment");
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  Loop loop;
  bool called = false;
  {
    auto owner = std::make_shared<int>(0);
    fs::write_and_sync(loop.get(), owner, fd, std::make_shared<const std::string>("abc"), 0,
                       [&called](const fs::WriteSyncResult&) { called = true; });
  }
  loop.run();
  ::close(fd);
  CHECK_FALSE(called);
  CHECK(read_file(path) == "abc");  // the job itself still ran
}
