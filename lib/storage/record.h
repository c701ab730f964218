// Record framing of the write-ahead log (see docs/disk-format.md, "Records").
//
//   offset 0   u32 LE  body length (1 .. kMaxRecordBody)
//   offset 4   u32 LE  crc32 (zlib) of the body
//   offset 8   u32 LE  crc32 (zlib) of bytes 0..7 (so a corrupt length is
//                      detected before it is trusted)
//   offset 12  body:   u8 record type, then the payload
//
// The only record type so far is kEntry, whose payload is a serialized
// pb::Entry. The header checksum lets recovery tell "this length is garbage"
// from "this record runs past the end of the file" cheaply, and lets the
// torn-tail check scan forward for a later valid record byte by byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "raft.pb.h"

namespace raftkv::storage {

inline constexpr std::size_t kRecordHeaderBytes = 12;
// A guard against absurd lengths; far above any entry the daemon accepts.
inline constexpr std::uint32_t kMaxRecordBody = 256u << 20;

enum class RecordType : std::uint8_t { kEntry = 1 };

// zlib's crc32 over `size` bytes.
std::uint32_t crc32_of(const void* data, std::size_t size);
// Extends a running crc32 (start from crc32_of(nullptr, 0) == 0) with more
// bytes: crc32_extend(crc32_of(a), b) == crc32_of(a + b). For streams.
std::uint32_t crc32_extend(std::uint32_t crc, const void* data, std::size_t size);

// Little-endian fixed-width helpers shared by every on-disk structure.
void put_u32(std::string* out, std::uint32_t value);
void put_u64(std::string* out, std::uint64_t value);
std::uint32_t get_u32(const char* p);
std::uint64_t get_u64(const char* p);

// Appends one framed kEntry record holding `entry` to `out`.
void append_entry_record(const pb::Entry& entry, std::string* out);
// The bytes append_entry_record() appends for `entry`.
std::size_t entry_record_size(const pb::Entry& entry);

enum class DecodeStatus {
  kOk,     // a complete record with good checksums and a parsable entry
  kShort,  // the bytes end before the record does (a torn write, if at the tail)
  kBad,    // a checksum, length, type or payload is wrong
};

struct DecodedRecord {
  DecodeStatus status = DecodeStatus::kBad;
  std::size_t size = 0;  // header + body, when status == kOk
  pb::Entry entry;
  std::string problem;  // why, when status != kOk
};

// Decodes the record that starts at bytes[0]; `bytes` runs to the end of the
// file, so trailing data after the record is ignored.
DecodedRecord decode_record(std::string_view bytes);

// Whether any complete, valid record starts in bytes[from..]. Used to tell
// a torn tail (nothing valid follows) from corruption (valid data follows).
bool valid_record_follows(std::string_view bytes, std::size_t from);

}  // namespace raftkv::storage
