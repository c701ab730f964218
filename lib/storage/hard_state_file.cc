#include "storage/hard_state_file.h"

#include "storage/record.h"
#include "storage/segment.h"

namespace raftkv::storage {

std::string encode_hard_state(const pb::HardState& state) {
  const std::string payload = state.SerializeAsString();
  std::string bytes;
  put_u32(&bytes, kHardStateMagic);
  put_u32(&bytes, kFormatVersion);
  put_u32(&bytes, static_cast<std::uint32_t>(payload.size()));
  bytes += payload;
  put_u32(&bytes, crc32_of(bytes.data(), bytes.size()));
  return bytes;
}

namespace {

bool refuse(std::string* problem, std::uint64_t* offset, std::string why, std::uint64_t at) {
  *problem = std::move(why);
  *offset = at;
  return false;
}

}  // namespace

bool decode_hard_state(const std::string& bytes, pb::HardState* state, std::string* problem,
                       std::uint64_t* offset) {
  if (bytes.size() < 16) return refuse(problem, offset, "short file", bytes.size());
  const std::uint32_t length = get_u32(bytes.data() + 8);
  if (length > kMaxHardStatePayload || bytes.size() != 16 + std::size_t{length}) {
    return refuse(problem, offset,
                  "size " + std::to_string(bytes.size()) + " does not match payload length " +
                      std::to_string(length),
                  bytes.size() < 16 + std::size_t{length} ? bytes.size() : 8);
  }
  if (crc32_of(bytes.data(), 12 + length) != get_u32(bytes.data() + 12 + length)) {
    return refuse(problem, offset, "bad checksum", 0);
  }
  if (get_u32(bytes.data()) != kHardStateMagic) return refuse(problem, offset, "bad magic", 0);
  if (get_u32(bytes.data() + 4) != kFormatVersion) {
    return refuse(problem, offset,
                  "unknown format version " + std::to_string(get_u32(bytes.data() + 4)), 4);
  }
  if (!state->ParseFromArray(bytes.data() + 12, static_cast<int>(length))) {
    return refuse(problem, offset, "unparsable hard state", 12);
  }
  return true;
}

}  // namespace raftkv::storage
