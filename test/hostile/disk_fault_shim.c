/* Disk fault injection for test_disk_faults.py: an LD_PRELOAD shim (tests
 * only, never installed) wrapping the calls the write-ahead log makes
 * through libc (libuv's threadpool calls them too).
 *
 *   RAFTKV_DISK_FAULT=FILE      the control file, read at every call:
 *                                 missing or empty  pass through
 *                                 "eio"             fdatasync/fsync fail with EIO
 *                                 "stall"           fdatasync/fsync block until the
 *                                                   word is gone (polled every 10 ms)
 *                                 "enospc"          write/pwrite/pwritev fail with ENOSPC
 *   RAFTKV_DISK_FAULT_DIR=DIR   only files under DIR are affected (sockets,
 *                               stderr and everything else pass through)
 *
 * Each fd's path comes from /proc/self/fd at every call (fds are reused, so
 * a cache would need invalidation; the cost is irrelevant in a test). */
/* Both pwrite and pwrite64 are defined below: no header redirection. */
#undef _FILE_OFFSET_BITS
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum fault { FAULT_NONE, FAULT_EIO, FAULT_STALL, FAULT_ENOSPC };

static enum fault current_fault(void) {
  const char* control = getenv("RAFTKV_DISK_FAULT");
  if (control == NULL) return FAULT_NONE;
  const int fd = open(control, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FAULT_NONE;
  char word[16] = {0};
  const ssize_t n = read(fd, word, sizeof word - 1);
  close(fd);
  if (n <= 0) return FAULT_NONE;
  if (strncmp(word, "eio", 3) == 0) return FAULT_EIO;
  if (strncmp(word, "stall", 5) == 0) return FAULT_STALL;
  if (strncmp(word, "enospc", 6) == 0) return FAULT_ENOSPC;
  return FAULT_NONE;
}

/* True when `fd` names a file under RAFTKV_DISK_FAULT_DIR. */
static int in_data_dir(int fd) {
  const char* dir = getenv("RAFTKV_DISK_FAULT_DIR");
  if (dir == NULL || dir[0] == '\0') return 0;
  char link[64];
  char path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return 0;
  path[n] = '\0';
  const size_t len = strlen(dir);
  return strncmp(path, dir, len) == 0 && (path[len] == '/' || path[len] == '\0');
}

/* 0 to go on with the real call, -1 (errno set) to fail it. */
static int sync_fault(int fd) {
  if (!in_data_dir(fd)) return 0;
  enum fault fault = current_fault();
  if (fault == FAULT_EIO) {
    errno = EIO;
    return -1;
  }
  const struct timespec ten_ms = {0, 10 * 1000 * 1000};
  while (fault == FAULT_STALL) {
    nanosleep(&ten_ms, NULL);
    fault = current_fault();
  }
  return 0;
}

static int write_fault(int fd) {
  if (!in_data_dir(fd) || current_fault() != FAULT_ENOSPC) return 0;
  errno = ENOSPC;
  return -1;
}

/* The next definition of `name` (libc's). Assigned through a void** as
 * POSIX recommends: ISO C has no object-to-function pointer conversion. */
#define REAL(fn, name) (*(void**)(&(fn)) = dlsym(RTLD_NEXT, name))

int fdatasync(int fd) {
  int (*real)(int);
  REAL(real, "fdatasync");
  return sync_fault(fd) != 0 ? -1 : real(fd);
}

int fsync(int fd) {
  int (*real)(int);
  REAL(real, "fsync");
  return sync_fault(fd) != 0 ? -1 : real(fd);
}

ssize_t write(int fd, const void* buf, size_t count) {
  ssize_t (*real)(int, const void*, size_t);
  REAL(real, "write");
  return write_fault(fd) != 0 ? -1 : real(fd, buf, count);
}

ssize_t writev(int fd, const struct iovec* iov, int count) {
  ssize_t (*real)(int, const struct iovec*, int);
  REAL(real, "writev");
  return write_fault(fd) != 0 ? -1 : real(fd, iov, count);
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  ssize_t (*real)(int, const void*, size_t, off_t);
  REAL(real, "pwrite");
  return write_fault(fd) != 0 ? -1 : real(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off64_t offset) {
  ssize_t (*real)(int, const void*, size_t, off64_t);
  REAL(real, "pwrite64");
  return write_fault(fd) != 0 ? -1 : real(fd, buf, count, offset);
}

ssize_t pwritev(int fd, const struct iovec* iov, int count, off_t offset) {
  ssize_t (*real)(int, const struct iovec*, int, off_t);
  REAL(real, "pwritev");
  return write_fault(fd) != 0 ? -1 : real(fd, iov, count, offset);
}

ssize_t pwritev64(int fd, const struct iovec* iov, int count, off64_t offset) {
  ssize_t (*real)(int, const struct iovec*, int, off64_t);
  REAL(real, "pwritev64");
  return write_fault(fd) != 0 ? -1 : real(fd, iov, count, offset);
}
