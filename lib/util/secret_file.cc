#include "util/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace raftkv::util {
namespace {

std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Checks what fstat says about the open file; "" when acceptable.
std::string check_stat(const struct stat& st) {
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  if ((st.st_mode & 0077) != 0) {
    return "accessible to group or others (mode " + mode_text(st.st_mode) +
           "); make it private: chmod 600";
  }
  if (st.st_size == 0) return "empty";
  if (static_cast<std::size_t>(st.st_size) > kMaxSecretBytes) {
    return "larger than " + std::to_string(kMaxSecretBytes) + " bytes";
  }
  return {};
}

bool read_all(int fd, std::string* out, std::string* why) {
  char buffer[kMaxSecretBytes + 1];
  std::size_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buffer + total, sizeof buffer - total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *why = std::strerror(errno);
      return false;
    }
    if (n == 0) break;
    total += static_cast<std::size_t>(n);
    if (total > kMaxSecretBytes) {
      *why = "larger than " + std::to_string(kMaxSecretBytes) + " bytes";
      return false;
    }
  }
  out->assign(buffer, total);
  // The stack copy held the secret: do not leave it behind.
  explicit_bzero(buffer, sizeof buffer);
  return true;
}

}  // namespace

bool read_secret_file(const std::string& path, std::string* secret, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  std::string why;
  if (::fstat(fd, &st) != 0) {
    why = std::strerror(errno);
  } else {
    why = check_stat(st);
  }
  std::string bytes;
  if (why.empty()) read_all(fd, &bytes, &why);
  ::close(fd);
  if (why.empty() && bytes.size() < kMinSecretBytes) {
    why = bytes.empty() ? "empty"
                        : "holds " + std::to_string(bytes.size()) + " bytes, fewer than " +
                              std::to_string(kMinSecretBytes) +
                              " (make one with: head -c 32 /dev/urandom > FILE)";
  }
  if (!why.empty()) {
    *error = path + ": " + why;
    return false;
  }
  *secret = std::move(bytes);
  return true;
}

}  // namespace raftkv::util
