#include "transport/frame.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/message_lite.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <cassert>
#include <cstring>

namespace raftkv::transport {
namespace {

void put_be32(std::uint32_t value, char* out) {
  out[0] = static_cast<char>(value >> 24);
  out[1] = static_cast<char>(value >> 16);
  out[2] = static_cast<char>(value >> 8);
  out[3] = static_cast<char>(value);
}

std::uint32_t get_be32(const char* in) {
  const auto byte = [in](int i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(in[i]));
  };
  return byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
}

// --- spliced frames: the proto3 wire format of pb::Message written by
// hand for an AppendEntries, fields in number order as protobuf writes them
// (frame_test.cc checks byte equality with SerializeToString(); a field
// added to either message must be added here: the test counts them).

using google::protobuf::internal::WireFormatLite;

// A proto3 scalar is not written when zero.
std::uint8_t* write_uint64(int field, std::uint64_t value, std::uint8_t* out) {
  if (value == 0) return out;
  return WireFormatLite::WriteUInt64ToArray(field, value, out);
}

// An embedded message of `length` bytes, tag and length prefix included.
std::size_t embedded_size(int field, std::size_t length) {
  return WireFormatLite::TagSize(field, WireFormatLite::TYPE_MESSAGE) +
         WireFormatLite::LengthDelimitedSize(length);
}

std::uint8_t* write_embedded_header(int field, std::size_t length, std::uint8_t* out) {
  out = WireFormatLite::WriteTagToArray(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, out);
  return google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(
      static_cast<std::uint32_t>(length), out);
}

std::uint8_t* write_entry(const pb::Entry& entry, std::uint8_t* out) {
  out = write_embedded_header(pb::AppendEntries::kEntriesFieldNumber,
                              static_cast<std::size_t>(entry.GetCachedSize()), out);
  return entry.SerializeWithCachedSizesToArray(out);
}

// The AppendEntries' length with the spliced entries, from the sizes
// spliced_size() cached.
std::size_t cached_append_entries_size(const pb::AppendEntries& ae,
                                       std::span<const core::SharedEntry> entries) {
  std::size_t size = static_cast<std::size_t>(ae.GetCachedSize());
  for (const core::SharedEntry& entry : entries) {
    size += embedded_size(pb::AppendEntries::kEntriesFieldNumber,
                          static_cast<std::size_t>(entry->GetCachedSize()));
  }
  return size;
}

std::uint8_t* write_append_entries(const pb::AppendEntries& ae,
                                   std::span<const core::SharedEntry> entries, std::uint8_t* out) {
  out = write_uint64(pb::AppendEntries::kPrevLogIndexFieldNumber, ae.prev_log_index(), out);
  out = write_uint64(pb::AppendEntries::kPrevLogTermFieldNumber, ae.prev_log_term(), out);
  for (const pb::Entry& entry : ae.entries()) out = write_entry(entry, out);
  for (const core::SharedEntry& entry : entries) out = write_entry(*entry, out);
  out = write_uint64(pb::AppendEntries::kLeaderCommitFieldNumber, ae.leader_commit(), out);
  return write_uint64(pb::AppendEntries::kReadRoundFieldNumber, ae.read_round(), out);
}

// The whole pb::Message: its scalars, then its one body field (12).
std::uint8_t* write_spliced(const pb::Message& message, std::span<const core::SharedEntry> entries,
                            std::uint8_t* out) {
  out = write_uint64(pb::Message::kFromFieldNumber, message.from(), out);
  out = write_uint64(pb::Message::kToFieldNumber, message.to(), out);
  out = write_uint64(pb::Message::kTermFieldNumber, message.term(), out);
  const pb::AppendEntries& ae = message.append_entries();
  out = write_embedded_header(pb::Message::kAppendEntriesFieldNumber,
                              cached_append_entries_size(ae, entries), out);
  return write_append_entries(ae, entries, out);
}

}  // namespace

std::size_t spliced_size(const pb::Message& message, std::span<const core::SharedEntry> entries) {
  const std::size_t plain = message.ByteSizeLong();  // caches every nested size
  if (entries.empty()) return plain;
  const std::size_t ae_plain = message.append_entries().ByteSizeLong();
  std::size_t spliced = 0;
  for (const core::SharedEntry& entry : entries) {
    spliced += embedded_size(pb::AppendEntries::kEntriesFieldNumber, entry->ByteSizeLong());
  }
  // The AppendEntries' length prefix may grow by a byte or more.
  return plain - embedded_size(pb::Message::kAppendEntriesFieldNumber, ae_plain) +
         embedded_size(pb::Message::kAppendEntriesFieldNumber, ae_plain + spliced);
}

std::size_t sendable_size(const pb::Message& message, std::span<const core::SharedEntry> entries,
                          std::size_t max_frame_bytes) {
  if (!entries.empty() && !message.has_append_entries()) return 0;  // only appends carry entries
  // Also caches every size the writers read.
  const std::size_t size = spliced_size(message, entries);
  return size > max_frame_bytes || size > UINT32_MAX ? 0 : size;
}

bool append_frame(const pb::Message& message, std::span<const core::SharedEntry> entries,
                  std::size_t max_frame_bytes, std::string* out) {
  const std::size_t size = sendable_size(message, entries, max_frame_bytes);
  if (size == 0) return false;
  append_sized_frame(message, entries, size, out);
  return true;
}

void append_sized_frame(const pb::Message& message, std::span<const core::SharedEntry> entries,
                        std::size_t size, std::string* out) {
  assert(size <= UINT32_MAX);
  const std::size_t start = out->size();
  out->resize(start + kFrameHeaderBytes + size);
  char* frame = out->data() + start;
  put_be32(static_cast<std::uint32_t>(size), frame);
  auto* payload = reinterpret_cast<std::uint8_t*>(frame + kFrameHeaderBytes);
  [[maybe_unused]] const std::uint8_t* end = entries.empty()
                                                 ? message.SerializeWithCachedSizesToArray(payload)
                                                 : write_spliced(message, entries, payload);
  assert(static_cast<std::size_t>(end - payload) == size);
}

bool append_frame(const google::protobuf::MessageLite& message, std::size_t max_frame_bytes,
                  std::string* out) {
  const std::size_t size = message.ByteSizeLong();
  if (size == 0 || size > max_frame_bytes || size > UINT32_MAX) return false;
  const std::size_t start = out->size();
  out->resize(start + kFrameHeaderBytes + size);
  char* frame = out->data() + start;
  put_be32(static_cast<std::uint32_t>(size), frame);
  if (!message.SerializeToArray(frame + kFrameHeaderBytes, static_cast<int>(size))) {
    out->resize(start);
    return false;
  }
  return true;
}

FrameDecoder::FrameDecoder(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

std::size_t FrameDecoder::missing_bytes() const {
  const std::size_t buffered = end_ - begin_;
  if (buffered < kFrameHeaderBytes) return kFrameHeaderBytes - buffered;
  const std::size_t length = get_be32(buffer_.get() + begin_);
  // An invalid length is reported by next(); never size the buffer by it.
  if (length == 0 || length > max_frame_bytes_) return 0;
  const std::size_t total = kFrameHeaderBytes + length;
  return total > buffered ? total - buffered : 0;
}

std::span<char> FrameDecoder::read_space() {
  if (begin_ == end_) {
    begin_ = end_ = 0;
    // A past big frame inflated the buffer: give the memory back.
    if (capacity_ > kShrinkAbove) {
      buffer_.reset();
      capacity_ = 0;
    }
  }
  reserve_tail(std::max(kReadChunk, missing_bytes()));
  return {buffer_.get() + end_, capacity_ - end_};
}

void FrameDecoder::reserve_tail(std::size_t want) {
  if (capacity_ - end_ >= want) return;
  const std::size_t buffered = end_ - begin_;
  if (buffered + want <= capacity_) {
    // Enough room once the consumed prefix is dropped: compact in place.
    std::memmove(buffer_.get(), buffer_.get() + begin_, buffered);
  } else {
    // Doubling amortises copies; the ceiling keeps a connection's buffer
    // within one maximal frame plus a read chunk.
    const std::size_t ceiling = max_frame_bytes_ + kFrameHeaderBytes + kReadChunk;
    const std::size_t capacity = std::max(buffered + want, std::min(capacity_ * 2, ceiling));
    auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
    if (buffered > 0) std::memcpy(bigger.get(), buffer_.get() + begin_, buffered);
    buffer_ = std::move(bigger);
    capacity_ = capacity;
  }
  begin_ = 0;
  end_ = buffered;
}

void FrameDecoder::commit(std::size_t bytes) {
  end_ = std::min(end_ + bytes, capacity_);
}

FrameDecoder::Status FrameDecoder::next(std::string_view* payload) {
  if (!error_.empty()) return Status::kError;
  const std::size_t buffered = end_ - begin_;
  if (buffered < kFrameHeaderBytes) return Status::kNeedMore;
  const std::size_t length = get_be32(buffer_.get() + begin_);
  if (length == 0 || length > max_frame_bytes_) {
    oversized_ = length > max_frame_bytes_;
    error_ = "frame length " + std::to_string(length) + " outside 1.." +
             std::to_string(max_frame_bytes_);
    return Status::kError;
  }
  if (buffered < kFrameHeaderBytes + length) return Status::kNeedMore;
  *payload = std::string_view(buffer_.get() + begin_ + kFrameHeaderBytes, length);
  begin_ += kFrameHeaderBytes + length;
  return Status::kFrame;
}

}  // namespace raftkv::transport
