#include "storage/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace raftkv::storage {

std::string errno_text(int err) {
  return std::strerror(err < 0 ? -err : err);
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

int read_whole_file(const std::string& path, std::string* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  out->clear();
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = -errno;
      ::close(fd);
      return err;
    }
    if (n == 0) break;
    out->append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return 0;
}

int list_dir(const std::string& dir, std::vector<std::string>* names) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) return -errno;
  names->clear();
  while (const dirent* entry = ::readdir(handle)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names->push_back(name);
  }
  ::closedir(handle);
  std::sort(names->begin(), names->end());
  return 0;
}

int fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  const int rc = ::fsync(fd) == 0 ? 0 : -errno;
  ::close(fd);
  return rc;
}

int make_dirs(const std::string& dir) {
  struct stat info {};
  if (::stat(dir.c_str(), &info) == 0) return S_ISDIR(info.st_mode) ? 0 : -ENOTDIR;
  std::string path = dir;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const std::size_t slash = path.find_last_of('/');
  std::string parent = ".";
  if (slash == 0) parent = "/";
  if (slash != std::string::npos && slash > 0) {
    parent = path.substr(0, slash);
    if (const int rc = make_dirs(parent); rc != 0) return rc;
  }
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return -errno;
  return fsync_dir(parent);
}

int truncate_file(const std::string& path, std::uint64_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int rc = ::ftruncate(fd, static_cast<off_t>(size)) == 0 ? 0 : -errno;
  if (rc == 0 && ::fdatasync(fd) != 0) rc = -errno;
  ::close(fd);
  return rc;
}

namespace {

int write_all_sync(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

}  // namespace

int replace_file_atomically(const std::string& dir, const std::string& name,
                            const std::string& data) {
  const std::string path = join_path(dir, name);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  int rc = write_all_sync(fd, data);
  if (rc == 0 && ::fdatasync(fd) != 0) rc = -errno;
  ::close(fd);
  if (rc == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) rc = -errno;
  if (rc == 0) rc = fsync_dir(dir);
  return rc;
}

}  // namespace raftkv::storage
