#include "transport/priority.h"

namespace raftkv::transport {

Lane lane_of(const pb::Message& message) {
  switch (message.body_case()) {
    case pb::Message::kAppendEntries:
      return message.append_entries().entries_size() > 0 ? Lane::kData : Lane::kControl;
    case pb::Message::kPropose:
    case pb::Message::kSnapshotChunk:  // up to a MiB each: never ahead of heartbeats
      return Lane::kData;
    default:
      return Lane::kControl;
  }
}

}  // namespace raftkv::transport
