#include "storage/snapshot_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <tuple>

#include "storage/file_util.h"
#include "storage/record.h"

namespace raftkv::storage {
namespace {

constexpr std::string_view kNamePrefix = "snapshot-";
constexpr std::string_view kNameSuffix = ".snap";
constexpr std::string_view kTmpSuffix = ".tmp";
constexpr std::size_t kNameDigits = 20;
constexpr std::size_t kPairHeaderBytes = 8;  // u32 key length, u32 value length

// Offsets of the header fields (snapshot_file.h).
constexpr std::size_t kVersionAt = 8;
constexpr std::size_t kHeaderBytesAt = 12;
constexpr std::size_t kBodyBytesAt = 16;
constexpr std::size_t kBodyCrcAt = 24;
constexpr std::size_t kPairCountAt = 28;
constexpr std::size_t kMetaLengthAt = 36;
constexpr std::size_t kHeaderCrcBytes = 4;

std::string corrupt_snapshot_at(const std::string& file, std::uint64_t offset,
                                const std::string& why) {
  return file + ": corrupt snapshot at offset " + std::to_string(offset) + " (" + why + ")";
}

bool parse_digits(std::string_view text, std::uint64_t* out) {
  if (text.size() != kNameDigits) return false;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *out = value;
  return true;
}

int write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return 0;
}

int pwrite_all(int fd, const std::string& bytes, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

// Reads exactly `size` bytes at `offset` (the caller knows the file holds
// them). Returns 0, a negative errno, or -EIO if the file ended early.
int pread_exact(int fd, char* out, std::size_t size, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) return -EIO;  // the file shrank under us
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

// The whole header; `sealed` fills the header checksum (else 0, so that an
// unfinished file never carries a plausible header).
std::string encode_header(const std::string& meta_bytes, std::uint64_t body_bytes,
                          std::uint32_t body_crc, std::uint64_t pairs, bool sealed) {
  std::string header(kSnapshotMagic, sizeof kSnapshotMagic);
  put_u32(&header, kSnapshotFormatVersion);
  put_u32(&header, static_cast<std::uint32_t>(kSnapshotFixedHeaderBytes + meta_bytes.size() +
                                              kHeaderCrcBytes));
  put_u64(&header, body_bytes);
  put_u32(&header, body_crc);
  put_u64(&header, pairs);
  put_u32(&header, static_cast<std::uint32_t>(meta_bytes.size()));
  header += meta_bytes;
  put_u32(&header, sealed ? crc32_of(header.data(), header.size()) : 0);
  return header;
}

// What the header says, once checked.
struct Header {
  std::uint64_t header_bytes = 0;
  std::uint64_t body_bytes = 0;
  std::uint32_t body_crc = 0;
  std::uint64_t pairs = 0;
  pb::SnapshotMeta meta;
};

// The fixed part: magic, version and the two lengths, which must agree
// with each other before either is trusted.
bool check_fixed_part(const std::string& path, const char* fixed, std::uint64_t file_bytes,
                      std::uint64_t* header_bytes, std::string* error) {
  if (std::memcmp(fixed, kSnapshotMagic, sizeof kSnapshotMagic) != 0) {
    *error = corrupt_snapshot_at(path, 0, "bad magic");
    return false;
  }
  if (const std::uint32_t version = get_u32(fixed + kVersionAt);
      version != kSnapshotFormatVersion) {
    *error =
        corrupt_snapshot_at(path, kVersionAt, "unknown format version " + std::to_string(version));
    return false;
  }
  const std::uint32_t meta_length = get_u32(fixed + kMetaLengthAt);
  *header_bytes = get_u32(fixed + kHeaderBytesAt);
  if (meta_length > kMaxSnapshotMetaBytes ||
      *header_bytes != kSnapshotFixedHeaderBytes + meta_length + kHeaderCrcBytes) {
    *error = corrupt_snapshot_at(path, kHeaderBytesAt,
                                 "header length " + std::to_string(*header_bytes) +
                                     " does not match meta length " + std::to_string(meta_length));
    return false;
  }
  if (file_bytes < *header_bytes) {
    *error = corrupt_snapshot_at(
        path, file_bytes,
        "file ends inside the header of " + std::to_string(*header_bytes) + " bytes");
    return false;
  }
  return true;
}

// Reads and checks the header of the open file `fd` of `file_bytes` bytes.
bool read_header(int fd, const std::string& path, std::uint64_t file_bytes, Header* out,
                 std::string* error) {
  if (file_bytes < kSnapshotFixedHeaderBytes) {
    *error = corrupt_snapshot_at(path, file_bytes, "file ends inside the header");
    return false;
  }
  std::string bytes(kSnapshotFixedHeaderBytes, '\0');
  int rc = pread_exact(fd, bytes.data(), bytes.size(), 0);
  if (rc == 0 && !check_fixed_part(path, bytes.data(), file_bytes, &out->header_bytes, error)) {
    return false;
  }
  if (rc == 0) {
    bytes.resize(out->header_bytes);
    rc = pread_exact(fd, bytes.data() + kSnapshotFixedHeaderBytes,
                     bytes.size() - kSnapshotFixedHeaderBytes, kSnapshotFixedHeaderBytes);
  }
  if (rc != 0) {
    *error = path + ": read: " + errno_text(rc);
    return false;
  }
  const std::size_t crc_at = bytes.size() - kHeaderCrcBytes;
  if (crc32_of(bytes.data(), crc_at) != get_u32(bytes.data() + crc_at)) {
    *error = corrupt_snapshot_at(path, crc_at, "bad header checksum");
    return false;
  }
  if (!out->meta.ParseFromArray(bytes.data() + kSnapshotFixedHeaderBytes,
                                static_cast<int>(crc_at - kSnapshotFixedHeaderBytes))) {
    *error = corrupt_snapshot_at(path, kSnapshotFixedHeaderBytes, "unparsable meta");
    return false;
  }
  out->body_bytes = get_u64(bytes.data() + kBodyBytesAt);
  out->body_crc = get_u32(bytes.data() + kBodyCrcAt);
  out->pairs = get_u64(bytes.data() + kPairCountAt);
  return true;
}

// The meta must agree with the file name (when the name is a snapshot's:
// a received file is checked under a temporary name) and the file size
// with the header.
bool check_header_against_file(const std::string& path, std::uint64_t file_bytes,
                               const Header& header, std::string* error) {
  std::uint64_t index = 0;
  std::uint64_t term = 0;
  const std::string name = std::filesystem::path(path).filename().string();
  if (parse_snapshot_file_name(name, &index, &term) &&
      (index != header.meta.index() || term != header.meta.term())) {
    *error =
        corrupt_snapshot_at(path, kSnapshotFixedHeaderBytes,
                            "meta says index " + std::to_string(header.meta.index()) + " term " +
                                std::to_string(header.meta.term()) + ", the file name index " +
                                std::to_string(index) + " term " + std::to_string(term));
    return false;
  }
  const std::uint64_t body_room = file_bytes - header.header_bytes;
  if (body_room < header.body_bytes) {
    *error = corrupt_snapshot_at(
        path, file_bytes,
        "file ends inside the body of " + std::to_string(header.body_bytes) + " bytes");
    return false;
  }
  if (body_room > header.body_bytes) {
    const std::uint64_t end = header.header_bytes + header.body_bytes;
    *error = corrupt_snapshot_at(
        path, end, std::to_string(file_bytes - end) + " unexpected bytes after the body");
    return false;
  }
  return true;
}

// An open snapshot file whose header passed every check.
class OpenSnapshot {
 public:
  OpenSnapshot() = default;
  ~OpenSnapshot() {
    if (fd_ >= 0) ::close(fd_);
  }
  OpenSnapshot(const OpenSnapshot&) = delete;
  OpenSnapshot& operator=(const OpenSnapshot&) = delete;

  bool open(const std::string& path, SnapshotInfo* info, std::string* error) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat status {};
    if (fd_ < 0 || ::fstat(fd_, &status) != 0) {
      *error = path + ": cannot open: " + errno_text(errno);
      return false;
    }
    const auto file_bytes = static_cast<std::uint64_t>(status.st_size);
    if (!read_header(fd_, path, file_bytes, &header_, error) ||
        !check_header_against_file(path, file_bytes, header_, error)) {
      return false;
    }
    info->path = path;
    info->meta = header_.meta;
    info->file_bytes = file_bytes;
    info->pair_count = header_.pairs;
    return true;
  }

  int fd() const { return fd_; }
  const Header& header() const { return header_; }

 private:
  int fd_ = -1;
  Header header_;
};

// Sequential buffered reads of the body, checksumming every byte read.
class BodyStream {
 public:
  BodyStream(int fd, std::uint64_t begin, std::uint64_t end)
      : fd_(fd), offset_(begin), read_to_(begin), end_(end) {}

  // Unconsumed body bytes.
  std::uint64_t remaining() const { return end_ - offset_; }
  // File offset of data().
  std::uint64_t offset() const { return offset_; }
  const char* data() const { return buffer_.data() + pos_; }

  // Makes `n` (<= remaining()) bytes available at data(). 0 or -errno.
  int want(std::size_t n) {
    while (buffer_.size() - pos_ < n) {
      buffer_.erase(0, pos_);
      pos_ = 0;
      const std::size_t missing = n - buffer_.size();
      const std::uint64_t chunk = std::min<std::uint64_t>(
          std::max<std::size_t>(kSnapshotBufferBytes, missing), end_ - read_to_);
      const std::size_t had = buffer_.size();
      buffer_.resize(had + chunk);
      if (const int rc = pread_exact(fd_, buffer_.data() + had, chunk, read_to_); rc != 0) {
        return rc;
      }
      crc_ = crc32_extend(crc_, buffer_.data() + had, chunk);
      read_to_ += chunk;
    }
    return 0;
  }

  void consume(std::size_t n) {
    pos_ += n;
    offset_ += n;
  }

  // Reads (and checksums) the rest of the body without parsing it.
  int drain() {
    while (remaining() > 0) {
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(remaining(), kSnapshotBufferBytes));
      if (const int rc = want(n); rc != 0) return rc;
      consume(n);
    }
    return 0;
  }

  std::uint32_t crc() const { return crc_; }

 private:
  int fd_;
  std::string buffer_;
  std::size_t pos_ = 0;
  std::uint64_t offset_;   // of data()
  std::uint64_t read_to_;  // file offset where buffer_ ends
  std::uint64_t end_;
  std::uint32_t crc_ = 0;
};

using Visit = std::function<void(std::string_view key, std::string_view value)>;

// Parses pairs until the body ends or the framing breaks. Returns 0 or a
// read error; `problem`/`problem_offset` describe a framing error.
int parse_pairs(BodyStream& body, const Visit& visit, std::uint64_t* pairs, std::string* problem,
                std::uint64_t* problem_offset) {
  while (body.remaining() > 0) {
    *problem_offset = body.offset();
    if (body.remaining() < kPairHeaderBytes) {
      *problem = "pair header runs past the end of the body";
      return 0;
    }
    if (const int rc = body.want(kPairHeaderBytes); rc != 0) return rc;
    const std::uint64_t key_bytes = get_u32(body.data());
    const std::uint64_t value_bytes = get_u32(body.data() + 4);
    if (key_bytes + value_bytes > kMaxSnapshotPairBytes ||
        kPairHeaderBytes + key_bytes + value_bytes > body.remaining()) {
      *problem = "pair " + std::to_string(*pairs) + " of " + std::to_string(key_bytes) + "+" +
                 std::to_string(value_bytes) + " bytes runs past the end of the body";
      return 0;
    }
    const std::size_t size = kPairHeaderBytes + key_bytes + value_bytes;
    if (const int rc = body.want(size); rc != 0) return rc;
    if (visit) {
      const char* key = body.data() + kPairHeaderBytes;
      visit(std::string_view(key, key_bytes), std::string_view(key + key_bytes, value_bytes));
    }
    body.consume(size);
    ++*pairs;
  }
  return 0;
}

struct NamedSnapshot {
  std::uint64_t index;
  std::uint64_t term;
  std::string name;
};

// Snapshot files among `names`, newest first.
std::vector<NamedSnapshot> snapshots_among(const std::vector<std::string>& names) {
  std::vector<NamedSnapshot> found;
  for (const std::string& name : names) {
    NamedSnapshot snapshot{0, 0, name};
    if (parse_snapshot_file_name(name, &snapshot.index, &snapshot.term)) {
      found.push_back(snapshot);
    }
  }
  std::sort(found.begin(), found.end(), [](const NamedSnapshot& a, const NamedSnapshot& b) {
    return std::tie(a.index, a.term) > std::tie(b.index, b.term);
  });
  return found;
}

}  // namespace

std::string snapshot_file_name(std::uint64_t index, std::uint64_t term) {
  char name[64];
  std::snprintf(name, sizeof name, "snapshot-%020" PRIu64 "-%020" PRIu64 ".snap", index, term);
  return name;
}

bool parse_snapshot_file_name(std::string_view name, std::uint64_t* index, std::uint64_t* term) {
  const std::size_t size = kNamePrefix.size() + kNameDigits + 1 + kNameDigits + kNameSuffix.size();
  if (name.size() != size || name.substr(0, kNamePrefix.size()) != kNamePrefix ||
      name.substr(size - kNameSuffix.size()) != kNameSuffix) {
    return false;
  }
  const std::string_view numbers = name.substr(kNamePrefix.size(), 2 * kNameDigits + 1);
  return numbers[kNameDigits] == '-' && parse_digits(numbers.substr(0, kNameDigits), index) &&
         parse_digits(numbers.substr(kNameDigits + 1), term);
}

bool parse_snapshot_tmp_name(std::string_view name, std::uint64_t* index, std::uint64_t* term) {
  if (name.size() <= kTmpSuffix.size() || !name.ends_with(kTmpSuffix)) return false;
  return parse_snapshot_file_name(name.substr(0, name.size() - kTmpSuffix.size()), index, term);
}

std::unique_ptr<SnapshotWriter> SnapshotWriter::create(const std::string& dir,
                                                       const pb::SnapshotMeta& meta,
                                                       std::string* error) {
  const std::string path = join_path(dir, snapshot_file_name(meta.index(), meta.term()));
  const std::string tmp = path + std::string(kTmpSuffix);
  if (meta.index() == 0) {
    *error = tmp + ": create: a snapshot's index must be at least 1";
    return nullptr;
  }
  const std::string meta_bytes = meta.SerializeAsString();
  if (meta_bytes.size() > kMaxSnapshotMetaBytes) {
    *error = tmp + ": create: meta of " + std::to_string(meta_bytes.size()) + " bytes is too big";
    return nullptr;
  }
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = tmp + ": create: " + errno_text(errno);
    return nullptr;
  }
  std::unique_ptr<SnapshotWriter> writer(new SnapshotWriter(dir, path, fd, meta_bytes));
  // The header goes first with placeholders; finish() fills it in.
  const std::string header = encode_header(meta_bytes, 0, 0, 0, false);
  if (const int rc = write_all(fd, header.data(), header.size()); rc != 0) {
    writer->fail("write", rc, error);
    return nullptr;
  }
  return writer;
}

SnapshotWriter::SnapshotWriter(std::string dir, std::string path, int fd, std::string meta_bytes)
    : dir_(std::move(dir)),
      path_(std::move(path)),
      tmp_path_(path_ + std::string(kTmpSuffix)),
      fd_(fd),
      meta_bytes_(std::move(meta_bytes)) {}

SnapshotWriter::~SnapshotWriter() {
  if (!finished_) discard();
}

bool SnapshotWriter::add(std::string_view key, std::string_view value, std::string* error) {
  if (finished_ || failed_) {
    *error = tmp_path_ + ": add after " + (finished_ ? "finish" : "a failure");
    return false;
  }
  if (key.size() + value.size() > kMaxSnapshotPairBytes) {
    *error = tmp_path_ + ": pair of " + std::to_string(key.size()) + "+" +
             std::to_string(value.size()) + " bytes is over the limit";
    discard();
    failed_ = true;
    return false;
  }
  put_u32(&buffer_, static_cast<std::uint32_t>(key.size()));
  put_u32(&buffer_, static_cast<std::uint32_t>(value.size()));
  buffer_.append(key);
  buffer_.append(value);
  ++pair_count_;
  return buffer_.size() < kSnapshotBufferBytes || flush_buffer(error);
}

bool SnapshotWriter::flush_buffer(std::string* error) {
  if (const int rc = write_all(fd_, buffer_.data(), buffer_.size()); rc != 0) {
    return fail("write", rc, error);
  }
  body_crc_ = crc32_extend(body_crc_, buffer_.data(), buffer_.size());
  body_bytes_ += buffer_.size();
  buffer_.clear();
  return true;
}

bool SnapshotWriter::finish(std::string* error) {
  if (finished_ || failed_) {
    *error = tmp_path_ + ": finish after " + (finished_ ? "finish" : "a failure");
    return false;
  }
  if (!flush_buffer(error)) return false;
  const std::string header = encode_header(meta_bytes_, body_bytes_, body_crc_, pair_count_, true);
  if (const int rc = pwrite_all(fd_, header, 0); rc != 0) return fail("write", rc, error);
  if (::fdatasync(fd_) != 0) return fail("fdatasync", errno, error);
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) return fail("close", errno, error);
  if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) return fail("rename", errno, error);
  // The file is in place now: do not remove anything on failure from here.
  finished_ = true;
  if (const int rc = fsync_dir(dir_); rc != 0) {
    *error = dir_ + ": fsync: " + errno_text(rc);
    return false;
  }
  return true;
}

bool SnapshotWriter::fail(const std::string& what, int err, std::string* error) {
  *error = tmp_path_ + ": " + what + ": " + errno_text(err);
  failed_ = true;
  discard();
  return false;
}

void SnapshotWriter::discard() {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  ::unlink(tmp_path_.c_str());
}

bool read_snapshot_header(const std::string& path, SnapshotInfo* info, std::string* error) {
  OpenSnapshot file;
  return file.open(path, info, error);
}

bool read_snapshot(const std::string& path, SnapshotInfo* info, const Visit& visit,
                   std::string* error) {
  OpenSnapshot file;
  if (!file.open(path, info, error)) return false;
  const Header& header = file.header();
  BodyStream body(file.fd(), header.header_bytes, header.header_bytes + header.body_bytes);
  std::uint64_t pairs = 0;
  std::string problem;
  std::uint64_t problem_offset = 0;
  int rc = parse_pairs(body, visit, &pairs, &problem, &problem_offset);
  // After a framing error keep reading: a bad checksum is the better
  // explanation (a flipped length bit breaks the framing after it).
  if (rc == 0 && !problem.empty()) rc = body.drain();
  if (rc != 0) {
    *error = path + ": read: " + errno_text(rc);
    return false;
  }
  if (body.crc() != header.body_crc) {
    char why[96];
    std::snprintf(why, sizeof why, "body checksum %08x, header says %08x", body.crc(),
                  header.body_crc);
    *error = corrupt_snapshot_at(path, header.header_bytes, why);
    return false;
  }
  if (!problem.empty()) {
    *error = corrupt_snapshot_at(path, problem_offset, problem);
    return false;
  }
  if (pairs != header.pairs) {
    *error = corrupt_snapshot_at(path, body.offset(),
                                 "body holds " + std::to_string(pairs) + " pairs, header says " +
                                     std::to_string(header.pairs));
    return false;
  }
  return true;
}

std::vector<std::string> list_snapshots(const std::string& dir) {
  std::vector<std::string> names;
  std::vector<std::string> paths;
  if (list_dir(dir, &names) != 0) return paths;
  for (const NamedSnapshot& snapshot : snapshots_among(names)) {
    paths.push_back(join_path(dir, snapshot.name));
  }
  return paths;
}

int prune_snapshots(const std::string& dir, std::size_t keep) {
  if (keep == 0) return -EINVAL;
  std::vector<std::string> names;
  if (const int rc = list_dir(dir, &names); rc != 0) return rc;
  const std::vector<NamedSnapshot> snapshots = snapshots_among(names);
  std::vector<std::string> doomed;
  for (std::size_t i = keep; i < snapshots.size(); ++i) doomed.push_back(snapshots[i].name);
  for (const std::string& name : names) {
    std::uint64_t index = 0;
    std::uint64_t term = 0;
    // Only tmp files that can never become the newest snapshot (see header).
    if (parse_snapshot_tmp_name(name, &index, &term) && !snapshots.empty() &&
        std::tie(index, term) <= std::tie(snapshots.front().index, snapshots.front().term)) {
      doomed.push_back(name);
    }
  }
  for (const std::string& name : doomed) {
    if (::unlink(join_path(dir, name).c_str()) != 0 && errno != ENOENT) return -errno;
  }
  return doomed.empty() ? 0 : fsync_dir(dir);
}

}  // namespace raftkv::storage
