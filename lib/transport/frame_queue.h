// One send lane's queued frames (outbound.h): back to back in one byte
// buffer whose capacity is reused, with each frame's size beside it. A
// frame costs no allocation of its own once the buffer has grown to the
// lane's usual depth (issue 7: a fresh string per frame was a third of the
// leader's mallocs, and glibc consolidates its heap for each "large" one).
// Frames leave from the front; those at the front are contiguous, so a
// batch of them is one write buffer.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace raftkv::transport {

class FrameQueue {
 public:
  // Appends a frame: `write(std::string*)` appends its bytes to the buffer
  // and returns true, or returns false having appended nothing.
  template <class Write>
  bool push(Write&& write) {
    const std::size_t before = bytes_.size();
    if (!std::forward<Write>(write)(&bytes_)) return false;
    sizes_.push_back(bytes_.size() - before);
    return true;
  }

  bool empty() const { return first_ == sizes_.size(); }
  std::size_t count() const { return sizes_.size() - first_; }
  // The i-th queued frame's size; i < count().
  std::size_t size_at(std::size_t i) const { return sizes_[first_ + i]; }
  // The first queued frame, followed by the others (contiguous).
  char* front() { return bytes_.data() + head_; }

  // Drops the first frame; !empty().
  void pop_front() {
    head_ += sizes_[first_++];
    if (empty()) return clear();
    // Reclaim the consumed prefix once it outweighs what is still queued,
    // so a lane that never drains does not grow without bound (amortised:
    // each byte is moved at most once per halving).
    if (head_ >= kCompactAbove && head_ > bytes_.size() - head_) compact();
  }

  // Drops every frame. The capacity stays for the next ones unless a burst
  // inflated it.
  void clear() {
    if (bytes_.capacity() > kShrinkAbove) {
      std::string().swap(bytes_);
      std::vector<std::size_t>().swap(sizes_);
    }
    bytes_.clear();
    sizes_.clear();
    head_ = 0;
    first_ = 0;
  }

  std::size_t capacity() const { return bytes_.capacity(); }

  static constexpr std::size_t kCompactAbove = 64 * 1024;
  static constexpr std::size_t kShrinkAbove = 1024 * 1024;

 private:
  void compact() {
    bytes_.erase(0, head_);
    sizes_.erase(sizes_.begin(), sizes_.begin() + static_cast<std::ptrdiff_t>(first_));
    head_ = 0;
    first_ = 0;
  }

  std::string bytes_;               // frames from head_ on
  std::size_t head_ = 0;            // first byte of the first queued frame
  std::vector<std::size_t> sizes_;  // frame sizes from first_ on
  std::size_t first_ = 0;
};

}  // namespace raftkv::transport
