// Snapshot files: the state machine's key/value pairs as of a log index,
// plus the SnapshotMeta (index, term, configuration) they stand for.
// Format (docs/disk-format.md, "Snapshots"):
//
//   name    snapshot-<index, 20 digits>-<term, 20 digits>.snap
//   header  offset 0   8 bytes  magic "RKVSNAP\0"
//           offset 8   u32 LE   format version (kSnapshotFormatVersion)
//           offset 12  u32 LE   header bytes (this whole header, crc included)
//           offset 16  u64 LE   body bytes
//           offset 24  u32 LE   crc32 of the body
//           offset 28  u64 LE   pair count
//           offset 36  u32 LE   meta length M
//           offset 40  M bytes  serialized pb::SnapshotMeta
//           offset 40+M u32 LE  crc32 of header bytes 0 .. 40+M-1
//   body    per pair: u32 LE key length, u32 LE value length, key, value
//
// A file is written under "<name>.tmp", its header's size and crc fields
// filled last, fdatasync'd, renamed into place and the directory fsync'd:
// a *.snap file that exists was complete when it was renamed. Reading and
// writing both stream through a bounded buffer (about 1 MiB): a snapshot is
// never held in memory whole.
//
// Everything here is blocking I/O: used at open-time recovery, by the dump
// tool, in the forked snapshot child, and in tests; never on the loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "raft.pb.h"

namespace raftkv::storage {

inline constexpr char kSnapshotMagic[8] = {'R', 'K', 'V', 'S', 'N', 'A', 'P', '\0'};
inline constexpr std::uint32_t kSnapshotFormatVersion = 1;
// Bytes of the header before the serialized meta (offsets 0 .. 39).
inline constexpr std::size_t kSnapshotFixedHeaderBytes = 40;
// Guards against absurd lengths in a damaged file (a configuration is tiny;
// a pair holds what one log entry carried, see kMaxRecordBody).
inline constexpr std::uint32_t kMaxSnapshotMetaBytes = 1u << 20;
inline constexpr std::uint64_t kMaxSnapshotPairBytes = 256ull << 20;
// Reads and writes go through a buffer of about this size (it grows only
// to hold one pair larger than this).
inline constexpr std::size_t kSnapshotBufferBytes = 1u << 20;

// "snapshot-00000000000000000100-00000000000000000003.snap" for index 100, term 3.
std::string snapshot_file_name(std::uint64_t index, std::uint64_t term);
// True (and index, term) if `name` is exactly a snapshot file name (not *.tmp).
bool parse_snapshot_file_name(std::string_view name, std::uint64_t* index, std::uint64_t* term);
// True (and index, term) for "<snapshot file name>.tmp": a file being written.
bool parse_snapshot_tmp_name(std::string_view name, std::uint64_t* index, std::uint64_t* term);

// Blocking writer (used in a forked child and in tests). Writes path+".tmp";
// finish() fills the header, fdatasyncs, renames to `path`, fsyncs the
// directory. On any error returns false with a one-line reason naming the
// file and removes the tmp file.
class SnapshotWriter {
 public:
  static std::unique_ptr<SnapshotWriter> create(const std::string& dir,
                                                const pb::SnapshotMeta& meta, std::string* error);
  bool add(std::string_view key, std::string_view value, std::string* error);
  bool finish(std::string* error);  // returns the final path via path()
  const std::string& path() const { return path_; }
  ~SnapshotWriter();  // removes the tmp file if finish() was not reached

  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

 private:
  SnapshotWriter(std::string dir, std::string path, int fd, std::string meta_bytes);
  bool flush_buffer(std::string* error);
  bool fail(const std::string& what, int err, std::string* error);
  void discard();

  std::string dir_;
  std::string path_;      // the final name
  std::string tmp_path_;  // path_ + ".tmp"
  int fd_ = -1;
  std::string meta_bytes_;  // the serialized SnapshotMeta of the header
  std::string buffer_;      // body bytes not yet written
  std::uint64_t body_bytes_ = 0;
  std::uint32_t body_crc_ = 0;
  std::uint64_t pair_count_ = 0;
  bool finished_ = false;
  bool failed_ = false;
};

struct SnapshotInfo {
  std::string path;
  pb::SnapshotMeta meta;
  std::uint64_t file_bytes = 0;
  std::uint64_t pair_count = 0;
};

// Reads and checks the header only (magic, version, header crc, file size =
// header + body).
bool read_snapshot_header(const std::string& path, SnapshotInfo* info, std::string* error);

// Streams the whole file, verifying the body crc and record framing; calls
// `visit` for every pair (may be empty to verify only). Error lines:
// "FILE: corrupt snapshot at offset N (why)". `visit` may run for pairs
// before a corruption is found further on: a caller that loads state must
// discard it when this returns false. The views passed to `visit` are valid
// only during the call.
bool read_snapshot(const std::string& path, SnapshotInfo* info,
                   const std::function<void(std::string_view key, std::string_view value)>& visit,
                   std::string* error);

// Snapshot files in `dir` (full paths), newest first (by index, then term);
// ignores *.tmp.
std::vector<std::string> list_snapshots(const std::string& dir);

// Removes all snapshot files but the newest `keep` (>= 1) and every leftover
// *.snap.tmp; fsyncs the directory. Returns 0 or a negative errno (-EINVAL
// for keep == 0). A *.snap.tmp newer than the newest kept snapshot is left
// alone: it may be a snapshot being taken or received right now (the
// daemon runs both while the loop goes on); recovery removes every *.tmp at
// the next open, when nothing can be writing.
int prune_snapshots(const std::string& dir, std::size_t keep);

}  // namespace raftkv::storage
