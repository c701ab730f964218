// libFuzzer target: bytes -> transport::FrameDecoder (fed through
// read_space()/commit() in pieces whose sizes come from the input, as libuv
// would) -> the first frame through check_handshake(), without and with a
// cluster secret, every later one through pb::Message parsing, as
// transport/inbound.cc does. A decodable message is re-serialized and
// re-parsed (round trip must hold). The same bytes also go to
// ConnectorAuth, the caller's parser of an acceptor's AuthChallenge and
// AuthAck (transport/connector_auth.h).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "raft.pb.h"
#include "transport/connector_auth.h"
#include "transport/frame.h"
#include "transport/handshake.h"
#include "transport/peer_auth.h"

using raftkv::transport::FrameDecoder;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Small maximum so the fuzzer reaches "too long" and big-frame paths.
constexpr std::size_t kMaxFrame = 64 * 1024;

constexpr std::string_view kSecret = "fuzz-cluster-secret-0123456789";
// The acceptor's challenge nonce: fixed, so that a seed can carry a valid
// proof and the fuzzer can mutate around it.
const std::string kAcceptorNonce(raftkv::transport::kAuthNonceBytes, '\x5a');

// With a secret, only a handshake carrying the exact proof may pass.
void check_with_secret(std::string_view payload) {
  const raftkv::transport::HandshakeAuth auth{kSecret, kAcceptorNonce};
  raftkv::pb::Handshake handshake;
  const auto result = raftkv::transport::check_handshake(
      payload, 1, [](std::uint64_t id) { return id <= 2; }, &auth, &handshake);
  if (!result.ok) {
    check(!result.reason.empty());
    return;
  }
  check(handshake.nonce().size() == raftkv::transport::kAuthNonceBytes);
  check(handshake.auth() == raftkv::transport::handshake_proof(kSecret, kAcceptorNonce, handshake));
}

// The caller's side: whatever an acceptor sends, it ends in a clean state.
void check_connector(const char* input, std::size_t size) {
  using raftkv::transport::ConnectorAuth;
  ConnectorAuth caller(kSecret, raftkv::transport::make_handshake(2, 1), kMaxFrame);
  std::size_t pos = 0;
  for (;;) {
    const ConnectorAuth::Step step = caller.next();
    if (step == ConnectorAuth::Step::kFailed) {
      check(!caller.error().empty());
      return;
    }
    if (step == ConnectorAuth::Step::kDone) return;
    if (step == ConnectorAuth::Step::kSendHandshake) {
      check(caller.handshake_frame().size() > raftkv::transport::kFrameHeaderBytes);
      continue;
    }
    if (pos == size) return;
    auto space = caller.read_space();
    const std::size_t n = std::min(space.size(), size - pos);
    std::memcpy(space.data(), input + pos, n);
    caller.commit(n);
    pos += n;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t piece = data[0] == 0 ? size : data[0];
  const char* input = reinterpret_cast<const char*>(data + 1);
  const std::size_t input_size = size - 1;

  static const bool crypto_ready = raftkv::transport::init_peer_auth();
  check(crypto_ready);
  check_connector(input, input_size);
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
        check_with_secret(payload);
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
