#include "transport/frame.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/out_message.h"
#include "harness.h"
#include "raft.pb.h"
#include "transport/frame_queue.h"

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

// --- spliced frames: an AppendEntries written from shared entries.

core::SharedEntry entry(std::uint64_t index, std::uint64_t term, std::size_t data_bytes) {
  pb::Entry e;
  e.set_index(index);
  e.set_term(term);
  if (index % 3 == 0) e.set_type(pb::ENTRY_CONF_CHANGE);
  e.set_data(std::string(data_bytes, static_cast<char>('a' + index % 26)));
  return std::make_shared<const pb::Entry>(std::move(e));
}

pb::Message append_header(std::uint64_t from, std::uint64_t commit) {
  pb::Message m;
  m.set_from(from);
  m.set_to(2);
  m.set_term(5);
  auto* ae = m.mutable_append_entries();
  ae->set_prev_log_index(41);
  ae->set_prev_log_term(4);
  ae->set_leader_commit(commit);
  ae->set_read_round(7);
  return m;
}

// The frame of the materialised message, as append_frame() writes it.
std::string materialised_frame(const pb::Message& message,
                               const std::vector<core::SharedEntry>& entries) {
  std::string frame;
  REQUIRE(append_frame(core::materialize(core::OutMessage{message, entries}), 64 << 20, &frame));
  return frame;
}

void check_spliced(const pb::Message& message, const std::vector<core::SharedEntry>& entries) {
  const std::string expected = materialised_frame(message, entries);
  CHECK(spliced_size(message, entries) + kFrameHeaderBytes == expected.size());
  std::string frame = "prefix";
  REQUIRE(append_frame(message, entries, 64 << 20, &frame));
  REQUIRE(frame.substr(0, 6) == "prefix");
  CHECK(frame.substr(6) == expected);  // byte for byte
  pb::Message parsed;
  REQUIRE(parsed.ParseFromString(frame.substr(6 + kFrameHeaderBytes)));
  const auto& ae = parsed.append_entries();
  CHECK(parsed.from() == message.from());
  CHECK(parsed.term() == message.term());
  CHECK(ae.prev_log_index() == message.append_entries().prev_log_index());
  CHECK(ae.leader_commit() == message.append_entries().leader_commit());
  CHECK(ae.read_round() == message.append_entries().read_round());
  const int own = message.append_entries().entries_size();
  REQUIRE(ae.entries_size() == own + static_cast<int>(entries.size()));
  for (std::size_t i = 0; i < entries.size(); ++i) {
    CHECK(ae.entries(own + static_cast<int>(i)).SerializeAsString() ==
          entries[i]->SerializeAsString());
  }
}

TEST_CASE("a spliced AppendEntries frame equals the materialised message's", "[frame]") {
  // From member 0 and commit 0: proto3 leaves zero fields out.
  for (std::uint64_t from : {std::uint64_t{0}, std::uint64_t{3}}) {
    for (std::uint64_t commit : {std::uint64_t{0}, std::uint64_t{300}}) {
      INFO("from " << from << " commit " << commit);
      const pb::Message header = append_header(from, commit);
      check_spliced(header, {});
      check_spliced(header, {entry(42, 5, 100)});
      check_spliced(header, {entry(42, 5, 0)});  // empty data (a no-op)
      std::vector<core::SharedEntry> many;
      for (std::uint64_t i = 42; i < 42 + 300; ++i) many.push_back(entry(i, 5, i % 7 == 0 ? 0 : i));
      check_spliced(header, many);
      // Big entries: two- and three-byte length prefixes, for the entries
      // and for the AppendEntries around them.
      check_spliced(header, {entry(42, 5, 127), entry(43, 5, 128), entry(44, 5, 20'000)});
      check_spliced(header, {entry(42, 5, 3 << 20)});
    }
  }
}

TEST_CASE("spliced entries follow the AppendEntries' own ones", "[frame]") {
  pb::Message header = append_header(1, 9);
  *header.mutable_append_entries()->add_entries() = *entry(42, 5, 10);
  check_spliced(header, {entry(43, 5, 20), entry(44, 5, 0)});
}

TEST_CASE("a spliced frame respects the frame limit exactly", "[frame]") {
  const pb::Message header = append_header(1, 9);
  const std::vector<core::SharedEntry> entries{entry(42, 5, 1000), entry(43, 5, 1000)};
  const std::size_t size = spliced_size(header, entries);
  std::string out = "keep";
  CHECK_FALSE(append_frame(header, entries, size - 1, &out));
  CHECK(out == "keep");
  REQUIRE(append_frame(header, entries, size, &out));
  CHECK(out.size() == 4 + kFrameHeaderBytes + size);
}

TEST_CASE("entries beside a message that is no AppendEntries are refused", "[frame]") {
  std::string out;
  CHECK_FALSE(
      append_frame(test::vote(2, 1), std::vector<core::SharedEntry>{entry(1, 1, 1)}, 1024, &out));
  CHECK(out.empty());
}

// The spliced writer knows every field of the two messages it writes by
// hand (frame.cc): a new field must be added there too.
TEST_CASE("the hand-written wire format knows every field", "[frame]") {
  CHECK(pb::Message::descriptor()->field_count() == 15);
  CHECK(pb::Message::descriptor()->oneof_decl_count() == 1);
  CHECK(pb::AppendEntries::descriptor()->field_count() == 5);
}

// --- the per-lane frame queue (frame_queue.h)

bool push(FrameQueue& queue, const std::string& frame) {
  return queue.push([&](std::string* out) {
    out->append(frame);
    return true;
  });
}

std::string queued(FrameQueue& queue) {
  std::string all;
  std::size_t at = 0;
  for (std::size_t i = 0; i < queue.count(); ++i) at += queue.size_at(i);
  all.assign(queue.front(), at);
  return all;
}

TEST_CASE("a frame queue keeps frames in order, back to back", "[frame]") {
  FrameQueue queue;
  CHECK(queue.empty());
  REQUIRE(push(queue, "one"));
  REQUIRE(push(queue, "three"));
  CHECK_FALSE(queue.push([](std::string*) { return false; }));  // a refused frame leaves nothing
  REQUIRE(queue.count() == 2);
  CHECK(queue.size_at(0) == 3);
  CHECK(queue.size_at(1) == 5);
  CHECK(queued(queue) == "onethree");
  queue.pop_front();
  CHECK(queued(queue) == "three");
  queue.pop_front();
  CHECK(queue.empty());
}

TEST_CASE("a frame queue reuses its buffer: no allocation per frame", "[frame]") {
  FrameQueue queue;
  const std::string frame(1500, 'x');  // a "large" chunk for glibc
  for (int i = 0; i < 32; ++i) REQUIRE(push(queue, frame));
  while (!queue.empty()) queue.pop_front();
  const std::size_t capacity = queue.capacity();
  CHECK(capacity >= 32 * frame.size());
  for (int round = 0; round < 100; ++round) {
    for (int i = 0; i < 32; ++i) REQUIRE(push(queue, frame));
    while (!queue.empty()) queue.pop_front();
    REQUIRE(queue.capacity() == capacity);
  }
}

TEST_CASE("a frame queue that never drains stays bounded and in order", "[frame]") {
  FrameQueue queue;
  std::uint64_t next_in = 0;
  std::uint64_t next_out = 0;
  const auto frame_of_number = [](std::uint64_t n) {
    return std::string(1000, static_cast<char>('a' + n % 26));
  };
  for (int round = 0; round < 2000; ++round) {
    REQUIRE(push(queue, frame_of_number(next_in++)));
    REQUIRE(push(queue, frame_of_number(next_in++)));
    REQUIRE(std::string(queue.front(), queue.size_at(0)) == frame_of_number(next_out++));
    queue.pop_front();
  }
  CHECK(queue.count() == 2000);
  // Live bytes are 2 MB; the consumed prefix is reclaimed as it grows.
  CHECK(queue.capacity() <= 8 * 2000 * 1000);
  while (!queue.empty()) {
    REQUIRE(std::string(queue.front(), queue.size_at(0)) == frame_of_number(next_out++));
    queue.pop_front();
  }
  CHECK(queue.capacity() <= FrameQueue::kShrinkAbove);  // a burst's memory is given back
}

}  // namespace
}  // namespace raftkv::transport
