#include "storage/record.h"

#include <zlib.h>

namespace raftkv::storage {

std::uint32_t crc32_of(const void* data, std::size_t size) {
  return crc32_extend(static_cast<std::uint32_t>(crc32(0L, Z_NULL, 0)), data, size);
}

std::uint32_t crc32_extend(std::uint32_t start, const void* data, std::size_t size) {
  // zlib takes uInt lengths; feed it in chunks so that huge buffers work too.
  uLong crc = start;
  const auto* p = static_cast<const Bytef*>(data);
  while (size > 0) {
    const uInt chunk = size > (1u << 30) ? (1u << 30) : static_cast<uInt>(size);
    crc = crc32(crc, p, chunk);
    p += chunk;
    size -= chunk;
  }
  return static_cast<std::uint32_t>(crc);
}

void put_u32(std::string* out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void put_u64(std::string* out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(p[i]);
  return value;
}

std::uint64_t get_u64(const char* p) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(p[i]);
  return value;
}

namespace {

void store_u32(char* p, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

}  // namespace

std::size_t entry_record_size(const pb::Entry& entry) {
  return kRecordHeaderBytes + 1 + entry.ByteSizeLong();
}

// Serializes the entry straight into `out` (no temporary body string: this
// runs for every entry on every member).
void append_entry_record(const pb::Entry& entry, std::string* out) {
  const std::size_t body_size = 1 + entry.ByteSizeLong();  // also caches the sizes
  const std::size_t start = out->size();
  out->resize(start + kRecordHeaderBytes + body_size);
  char* header = out->data() + start;
  char* body = header + kRecordHeaderBytes;
  body[0] = static_cast<char>(RecordType::kEntry);
  entry.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(body + 1));
  store_u32(header, static_cast<std::uint32_t>(body_size));
  store_u32(header + 4, crc32_of(body, body_size));
  store_u32(header + 8, crc32_of(header, 8));
}

namespace {

DecodedRecord bad(DecodeStatus status, std::string problem) {
  DecodedRecord record;
  record.status = status;
  record.problem = std::move(problem);
  return record;
}

}  // namespace

DecodedRecord decode_record(std::string_view bytes) {
  if (bytes.size() < kRecordHeaderBytes) return bad(DecodeStatus::kShort, "short record header");
  const std::uint32_t length = get_u32(bytes.data());
  if (crc32_of(bytes.data(), 8) != get_u32(bytes.data() + 8)) {
    return bad(DecodeStatus::kBad, "bad header checksum");
  }
  if (length == 0 || length > kMaxRecordBody) return bad(DecodeStatus::kBad, "bad record length");
  if (bytes.size() - kRecordHeaderBytes < length) return bad(DecodeStatus::kShort, "short record");
  const char* body = bytes.data() + kRecordHeaderBytes;
  if (crc32_of(body, length) != get_u32(bytes.data() + 4)) {
    return bad(DecodeStatus::kBad, "bad checksum");
  }
  if (static_cast<std::uint8_t>(body[0]) != static_cast<std::uint8_t>(RecordType::kEntry)) {
    return bad(DecodeStatus::kBad,
               "unknown record type " + std::to_string(static_cast<unsigned char>(body[0])));
  }
  DecodedRecord record;
  if (!record.entry.ParseFromArray(body + 1, static_cast<int>(length - 1))) {
    return bad(DecodeStatus::kBad, "unparsable entry");
  }
  record.status = DecodeStatus::kOk;
  record.size = kRecordHeaderBytes + length;
  return record;
}

bool valid_record_follows(std::string_view bytes, std::size_t from) {
  for (std::size_t at = from; at + kRecordHeaderBytes <= bytes.size(); ++at) {
    // Cheap pre-check of the header checksum before a full decode.
    if (crc32_of(bytes.data() + at, 8) != get_u32(bytes.data() + at + 8)) continue;
    if (decode_record(bytes.substr(at)).status == DecodeStatus::kOk) return true;
  }
  return false;
}

}  // namespace raftkv::storage
