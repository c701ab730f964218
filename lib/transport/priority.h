// Which send lane a message takes. Control messages (elections, heartbeats,
// acknowledgements, read-index traffic) are small and latency-critical: a
// follower that misses heartbeats starts an election. They must never wait
// behind megabytes of log entries, so each peer queue has two lanes and the
// control lane is always drained first. Order is kept within a lane only.
#pragma once

#include "raft.pb.h"

namespace raftkv::transport {

enum class Lane { kControl = 0, kData = 1 };

// kData: AppendEntries carrying entries, Propose, SnapshotChunk. kControl:
// everything else, including AppendEntries without entries (heartbeats),
// InstallSnapshot (metadata only) and SnapshotChunkAck.
Lane lane_of(const pb::Message& message);

}  // namespace raftkv::transport
