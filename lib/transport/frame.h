// Framing of the peer protocol: every frame is a 4-byte big-endian length
// followed by that many bytes of serialized protobuf (a pb::Handshake for the
// first frame of a connection, a pb::Message afterwards). A length of 0 or
// above the configured maximum is a protocol error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/shared_entry.h"
#include "raft.pb.h"

namespace google::protobuf {
class MessageLite;
}

namespace raftkv::transport {

inline constexpr std::size_t kFrameHeaderBytes = 4;

// Appends one frame holding `message` to *out. Returns false (appending
// nothing) if the serialized message is empty or larger than
// `max_frame_bytes`, i.e. if the receiver would reject it.
bool append_frame(const google::protobuf::MessageLite& message, std::size_t max_frame_bytes,
                  std::string* out);

// Spliced frames: an AppendEntries whose entries ride beside the message as
// shared references (core/out_message.h) is written straight from them,
// without copying them into the message first (issue 7). The bytes are
// exactly those of serialising the materialised message (`entries` after
// the AppendEntries' own), so the receiver cannot tell. `entries` must be
// empty unless `message` is an AppendEntries.
//
// The serialized size of that materialised message.
std::size_t spliced_size(const pb::Message& message, std::span<const core::SharedEntry> entries);
// spliced_size() if the frame may be sent, else 0: for entries beside a
// message that is no AppendEntries (a bug upstream), and where the plain
// append_frame() refuses (empty, or over `max_frame_bytes`).
std::size_t sendable_size(const pb::Message& message, std::span<const core::SharedEntry> entries,
                          std::size_t max_frame_bytes);
// Appends the frame of that message to *out. Returns false (appending
// nothing) where sendable_size() is 0.
bool append_frame(const pb::Message& message, std::span<const core::SharedEntry> entries,
                  std::size_t max_frame_bytes, std::string* out);
// The same with `size` = sendable_size(...) > 0, just computed by the
// caller (which also cached the sizes the writer reads), so that each entry
// is measured once per frame.
void append_sized_frame(const pb::Message& message, std::span<const core::SharedEntry> entries,
                        std::size_t size, std::string* out);

// Incremental decoder over a growable read buffer, fed by libuv's
// alloc_cb/read_cb pair:
//
//   alloc_cb: span = decoder.read_space()      (libuv reads into it)
//   read_cb:  decoder.commit(nread); while (decoder.next(&payload) == kFrame) ...
//
// The buffer grows only to hold a frame whose length has already been
// checked against max_frame_bytes, so a hostile length prefix never drives
// an allocation. Once drained it shrinks back if a big frame inflated it.
class FrameDecoder {
 public:
  enum class Status { kFrame, kNeedMore, kError };

  explicit FrameDecoder(std::size_t max_frame_bytes);

  // Writable space after the buffered bytes: at least kReadChunk bytes, or
  // the whole rest of the frame in progress when that is known and larger
  // (so a big frame arrives in place, without repeated copies).
  // Invalidates payloads returned by next().
  std::span<char> read_space();
  // Marks `bytes` of the space returned by read_space() as filled.
  void commit(std::size_t bytes);

  // kFrame: *payload is the next complete frame's payload, valid until the
  // next read_space(). kNeedMore: no complete frame buffered. kError: the
  // stream is broken (see error()); the connection must be closed.
  Status next(std::string_view* payload);

  const std::string& error() const { return error_; }
  // Whether the error is a length over the maximum (otherwise it is 0).
  bool oversized() const { return oversized_; }
  std::size_t buffered_bytes() const { return end_ - begin_; }
  std::size_t capacity() const { return capacity_; }

  static constexpr std::size_t kReadChunk = 64 * 1024;
  // A buffer grown beyond this is released once drained.
  static constexpr std::size_t kShrinkAbove = 1024 * 1024;

 private:
  // Bytes still missing to complete the frame in progress (0 if unknown).
  std::size_t missing_bytes() const;
  void reserve_tail(std::size_t want);

  std::size_t max_frame_bytes_;
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;  // first unconsumed byte
  std::size_t end_ = 0;    // one past the last received byte
  std::string error_;
  bool oversized_ = false;
};

}  // namespace raftkv::transport
