#include "transport/frame.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "harness.h"
#include "raft.pb.h"

namespace raftkv::transport {
namespace {

// Feeds `bytes` to the decoder in chunks of `chunk` bytes, collecting frames.
FrameDecoder::Status feed(FrameDecoder& decoder, const std::string& bytes, std::size_t chunk,
                          std::vector<std::string>* frames) {
  for (std::size_t at = 0, n = 0; at < bytes.size(); at += n) {
    const std::span<char> space = decoder.read_space();
    if (space.size() < FrameDecoder::kReadChunk) FAIL("read_space() below one read chunk");
    n = std::min({chunk, bytes.size() - at, space.size()});
    std::memcpy(space.data(), bytes.data() + at, n);
    decoder.commit(n);
    std::string_view payload;
    for (;;) {
      const auto status = decoder.next(&payload);
      if (status == FrameDecoder::Status::kError) return status;
      if (status == FrameDecoder::Status::kNeedMore) break;
      frames->emplace_back(payload);
    }
  }
  return FrameDecoder::Status::kNeedMore;
}

TEST_CASE("frames round-trip through the decoder whatever the read sizes", "[frame]") {
  std::string stream;
  std::vector<pb::Message> sent;
  for (int i = 1; i <= 50; ++i) {
    sent.push_back(i % 5 == 0 ? test::entries(2, i, 100'000) : test::heartbeat(2, i));
    sent.back().set_from(1);
    REQUIRE(append_frame(sent.back(), 1 << 20, &stream));
  }
  for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{4096}, stream.size()}) {
    INFO("chunk " << chunk);
    FrameDecoder decoder(1 << 20);
    std::vector<std::string> frames;
    REQUIRE(feed(decoder, stream, chunk, &frames) == FrameDecoder::Status::kNeedMore);
    REQUIRE(frames.size() == sent.size());
    for (std::size_t i = 0; i < frames.size(); ++i) {
      pb::Message message;
      REQUIRE(message.ParseFromString(frames[i]));
      CHECK(message.term() == sent[i].term());
    }
    CHECK(decoder.buffered_bytes() == 0);
  }
}

TEST_CASE("the frame header is a 4-byte big-endian length", "[frame]") {
  pb::Message message = test::vote(2, 7);
  std::string frame;
  REQUIRE(append_frame(message, 1024, &frame));
  const std::size_t size = message.ByteSizeLong();
  REQUIRE(frame.size() == 4 + size);
  CHECK(static_cast<unsigned char>(frame[0]) == 0);
  CHECK(static_cast<unsigned char>(frame[1]) == 0);
  CHECK(static_cast<unsigned char>(frame[2]) == (size >> 8));
  CHECK(static_cast<unsigned char>(frame[3]) == (size & 0xff));
}

TEST_CASE("append_frame refuses empty and oversized messages", "[frame]") {
  std::string out = "keep";
  CHECK_FALSE(append_frame(pb::Message{}, 1024, &out));
  CHECK_FALSE(append_frame(test::entries(2, 1, 2000), 1024, &out));
  CHECK(out == "keep");
}

TEST_CASE("bad lengths are errors, detected before any allocation", "[frame]") {
  const std::size_t max = 1 << 20;
  for (const std::string& header : {std::string("\0\0\0\0", 4), std::string("\x00\x10\x00\x01", 4),
                                    std::string("\xff\xff\xff\xff", 4)}) {
    FrameDecoder decoder(max);
    std::vector<std::string> frames;
    CHECK(feed(decoder, header, 4, &frames) == FrameDecoder::Status::kError);
    CHECK_FALSE(decoder.error().empty());
    // The hostile length did not size the buffer.
    CHECK(decoder.capacity() <= FrameDecoder::kReadChunk);
  }
}

TEST_CASE("the buffer grows for a big frame and shrinks once it is consumed", "[frame]") {
  std::string stream;
  REQUIRE(append_frame(test::entries(2, 1, 3 << 20), 4 << 20, &stream));
  FrameDecoder decoder(4 << 20);
  std::vector<std::string> frames;
  REQUIRE(feed(decoder, stream, 64 * 1024, &frames) == FrameDecoder::Status::kNeedMore);
  REQUIRE(frames.size() == 1);
  CHECK(decoder.capacity() >= (3u << 20));
  CHECK(decoder.capacity() <= (4u << 20) + 4 + FrameDecoder::kReadChunk);
  (void)decoder.read_space();
  CHECK(decoder.capacity() <= FrameDecoder::kShrinkAbove);
}

}  // namespace
}  // namespace raftkv::transport
