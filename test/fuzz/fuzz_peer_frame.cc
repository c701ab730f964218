// libFuzzer target: bytes -> transport::FrameDecoder (fed through
// read_space()/commit() in pieces whose sizes come from the input, as libuv
// would) -> the first frame through check_handshake(), every later one
// through pb::Message parsing, as transport/inbound.cc does. A decodable
// message is re-serialized and re-parsed (round trip must hold).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "raft.pb.h"
#include "transport/frame.h"
#include "transport/handshake.h"

using raftkv::transport::FrameDecoder;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Small maximum so the fuzzer reaches "too long" and big-frame paths.
constexpr std::size_t kMaxFrame = 64 * 1024;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t piece = data[0] == 0 ? size : data[0];
  const char* input = reinterpret_cast<const char*>(data + 1);
  const std::size_t input_size = size - 1;

  FrameDecoder decoder(kMaxFrame);
  bool handshake_done = false;
  std::size_t pos = 0;
  int frames = 0;
  while (pos < input_size) {
    auto space = decoder.read_space();
    check(space.size() >= 1);
    const std::size_t n = std::min({piece, input_size - pos, space.size()});
    std::memcpy(space.data(), input + pos, n);
    decoder.commit(n);
    pos += n;
    for (;;) {
      std::string_view payload;
      const auto status = decoder.next(&payload);
      if (status == FrameDecoder::Status::kNeedMore) break;
      if (status == FrameDecoder::Status::kError) {
        check(!decoder.error().empty());
        return 0;  // the connection would be closed
      }
      check(!payload.empty() && payload.size() <= kMaxFrame);
      ++frames;
      if (!handshake_done) {
        const auto result = raftkv::transport::check_handshake(
            payload, 1, [](std::uint64_t id) { return id <= 2; });
        if (!result.ok) {
          check(!result.reason.empty());
          return 0;
        }
        check(result.from != 1 && result.from <= 2);
        handshake_done = true;
        continue;
      }
      raftkv::pb::Message message;
      if (!message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return 0;
      std::string again;
      check(message.SerializeToString(&again));
      raftkv::pb::Message reparsed;
      check(reparsed.ParseFromString(again));
      check(reparsed.from() == message.from() && reparsed.term() == message.term() &&
            reparsed.body_case() == message.body_case());
    }
  }
  check(decoder.buffered_bytes() <= kMaxFrame + raftkv::transport::kFrameHeaderBytes);
  (void)frames;
  return 0;
}
