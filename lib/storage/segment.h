// Segment files: naming, header, and reading one segment back.
//
// A segment is "<first index, 20 digits>.wal" and starts with a 20-byte
// header (docs/disk-format.md, "Segments"):
//   offset 0   u32 LE  magic 0x57564b52 (the bytes "RKVW")
//   offset 4   u32 LE  format version (kFormatVersion)
//   offset 8   u64 LE  first index (must match the file name)
//   offset 16  u32 LE  crc32 of bytes 0..15
// followed by records (record.h) back to back.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "raft.pb.h"

namespace raftkv::storage {

inline constexpr std::uint32_t kSegmentMagic = 0x57564b52;
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kSegmentHeaderBytes = 20;

// "00000000000000000001.wal" for first index 1.
std::string segment_file_name(std::uint64_t first_index);
// True (and the index) if `name` is exactly 20 digits + ".wal".
bool parse_segment_file_name(std::string_view name, std::uint64_t* first_index);

std::string encode_segment_header(std::uint64_t first_index);

struct ScannedRecord {
  std::uint64_t offset = 0;  // byte offset of the record in its file
  pb::Entry entry;
};

// How a segment ends.
enum class TailState {
  kClean,    // the last byte of the file ends the last valid record
  kTorn,     // an incomplete or bad record at `problem_offset` and nothing
             // valid after it: a write that a crash cut short
  kCorrupt,  // bad bytes at `problem_offset` with valid data after them,
             // or a header that cannot be read: never repaired
};

struct SegmentScan {
  std::string path;
  std::uint64_t first_index = 0;  // from the file name
  std::uint64_t file_bytes = 0;
  std::uint64_t valid_bytes = 0;  // end of the header or of the last good record
  std::uint32_t version = 0;      // 0 when the header is unreadable
  std::vector<ScannedRecord> records;
  TailState tail = TailState::kClean;
  std::uint64_t problem_offset = 0;
  std::string problem;
};

// Reads and checks a whole segment file. Never modifies it. Frames only:
// index continuity is checked by replay_log (recovery.h).
SegmentScan scan_segment(const std::string& path, std::uint64_t first_index);

}  // namespace raftkv::storage
