// util::read_secret_file: the cluster secret's file checks (ssh-style
// permissions, size bounds) and the exact bytes it returns.
#include "util/secret_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>

namespace raftkv::util {
namespace {

// A fresh private directory under /tmp, removed with its files at the end.
struct TempDir {
  TempDir() {
    char pattern[] = "/tmp/raftkv-secret-test-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempDir() { (void)std::system(("rm -rf '" + path + "'").c_str()); }
  std::string write(const std::string& name, const std::string& bytes, mode_t mode) const {
    const std::string file = path + "/" + name;
    std::ofstream(file, std::ios::binary) << bytes;
    REQUIRE(::chmod(file.c_str(), mode) == 0);
    return file;
  }
  std::string path;
};

TEST_CASE("a private file's bytes are the secret, exactly", "[secret_file]") {
  TempDir dir;
  const std::string bytes = std::string("\0\x01 binary secret \xff with a newline\n", 34);
  std::string secret, error;
  REQUIRE(read_secret_file(dir.write("s", bytes, 0600), &secret, &error));
  CHECK(secret == bytes);
  CHECK(read_secret_file(dir.write("ro", bytes, 0400), &secret, &error));
  CHECK(
      read_secret_file(dir.write("min", std::string(kMinSecretBytes, 'x'), 0600), &secret, &error));
  CHECK(
      read_secret_file(dir.write("max", std::string(kMaxSecretBytes, 'x'), 0600), &secret, &error));
  CHECK(secret.size() == kMaxSecretBytes);
}

TEST_CASE("unusable secret files are refused with the file and the reason", "[secret_file]") {
  TempDir dir;
  const std::string good(32, 's');
  struct Case {
    std::string path;
    const char* reason;
  };
  const Case cases[] = {
      {dir.path + "/missing", "No such file"},
      {dir.path, "not a regular file"},
      {dir.write("empty", "", 0600), "empty"},
      {dir.write("short", std::string(kMinSecretBytes - 1, 'x'), 0600), "fewer than 16"},
      {dir.write("long", std::string(kMaxSecretBytes + 1, 'x'), 0600), "larger than"},
      {dir.write("world", good, 0644), "chmod 600"},
      {dir.write("group", good, 0640), "chmod 600"},
      {dir.write("other-write", good, 0602), "chmod 600"},
  };
  for (const Case& c : cases) {
    INFO(c.path);
    std::string secret = "untouched", error;
    CHECK_FALSE(read_secret_file(c.path, &secret, &error));
    CHECK(secret == "untouched");
    CHECK(error.rfind(c.path + ": ", 0) == 0);
    CHECK(error.find(c.reason) != std::string::npos);
    CHECK(error.find('\n') == std::string::npos);
  }
}

}  // namespace
}  // namespace raftkv::util
