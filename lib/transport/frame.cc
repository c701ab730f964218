#include "transport/frame.h"

#include <google/protobuf/message_lite.h>

#include <algorithm>
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

}  // namespace

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
