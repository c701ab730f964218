// SnapshotSender and SnapshotReceiver connected through an in-test channel
// on a real uv loop: the channel delivers every message in a later loop
// iteration, in order, and drops what the test tells it to (seeded, so a
// failure replays). Checks: a transfer ends with the receiver holding a
// byte-identical, verified file; drops of chunks and acks, a connection drop
// and a receiver restart are repaired by resuming from the last
// acknowledged offset; a corrupt byte, a too-large snapshot and a silent
// peer end the transfer with done(false).
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <cstdint>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>

#include <uv.h>

#include "../loop_runner.h"
#include "../temp_dir.h"
#include "storage/snapshot_file.h"
#include "transport/snapshot_receiver.h"
#include "transport/snapshot_sender.h"

using raftkv::pb::Message;
using raftkv::storage::SnapshotInfo;
using raftkv::transport::SnapshotReceiver;
using raftkv::transport::SnapshotReceiverOptions;
using raftkv::transport::SnapshotSender;
using raftkv::transport::SnapshotSenderOptions;

namespace {

constexpr raftkv::core::NodeId kLeader = 1;
constexpr raftkv::core::NodeId kFollower = 2;
constexpr std::uint64_t kLeaderTerm = 5;

using Loop = raftkv::test::LoopRunner;
using raftkv::test::TempDir;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A snapshot of `pairs` random pairs (seeded) in `dir`; returns its header.
SnapshotInfo make_snapshot(const std::string& dir, int pairs, std::uint64_t index = 1000,
                           std::uint64_t term = 3) {
  raftkv::pb::SnapshotMeta meta;
  meta.set_index(index);
  meta.set_term(term);
  meta.mutable_config()->add_members()->set_id(kLeader);
  std::string error;
  auto writer = raftkv::storage::SnapshotWriter::create(dir, meta, &error);
  REQUIRE(writer);
  std::mt19937_64 random(index);
  for (int i = 0; i < pairs; ++i) {
    std::string value(100 + random() % 400, '\0');
    for (char& c : value) c = static_cast<char>(random());
    REQUIRE(writer->add("key-" + std::to_string(i), value, &error));
  }
  REQUIRE(writer->finish(&error));
  SnapshotInfo info;
  REQUIRE(raftkv::storage::read_snapshot_header(writer->path(), &info, &error));
  return info;
}

// Carries messages between one sender and one receiver, each in a later
// loop iteration, in order; `drop` decides per message (true = lost).
class Channel {
 public:
  explicit Channel(Loop& loop) {
    uv_idle_init(loop.get(), &idle_);
    idle_.data = this;
  }
  ~Channel() { uv_close(reinterpret_cast<uv_handle_t*>(&idle_), nullptr); }

  void post(Message message) {
    if (tamper) tamper(message);
    if (drop && drop(message)) {
      ++dropped;
      return;
    }
    queue_.push_back(std::move(message));
    uv_idle_start(&idle_, on_idle);
  }
  // Everything on the way is lost (a connection drop).
  void lose_in_flight() {
    dropped += queue_.size();
    queue_.clear();
  }

  std::function<bool(const Message&)> drop;
  std::function<void(Message&)> tamper;  // runs first, on every message
  std::function<void(const Message&)> deliver_chunk;
  std::function<void(const Message&)> deliver_ack;
  std::uint64_t dropped = 0;

 private:
  static void on_idle(uv_idle_t* idle) {
    auto* self = static_cast<Channel*>(idle->data);
    // Deliver only what was queued before this iteration; replies wait.
    std::deque<Message> batch;
    batch.swap(self->queue_);
    for (auto& message : batch) {
      message.set_from(message.has_snapshot_chunk() ? kLeader : kFollower);
      if (message.has_snapshot_chunk() && self->deliver_chunk) self->deliver_chunk(message);
      if (message.has_snapshot_chunk_ack() && self->deliver_ack) self->deliver_ack(message);
    }
    if (self->queue_.empty()) uv_idle_stop(&self->idle_);
  }

  uv_idle_t idle_{};
  std::deque<Message> queue_;
};

struct Outcome {
  bool ok = false;
  std::string error;
};

// One leader's sender, one follower's receiver, the channel between them.
struct Transfer {
  Transfer(Loop& the_loop, const SnapshotInfo& snapshot, const std::string& dir,
           SnapshotSenderOptions sender_options, SnapshotReceiverOptions limits = {})
      : loop(the_loop), channel(the_loop), follower_dir(dir), receiver_options(limits) {
    make_receiver();
    channel.deliver_ack = [this](const Message& message) {
      if (sender) sender->on_ack(message.snapshot_chunk_ack());
    };
    sender = std::make_unique<SnapshotSender>(
        loop.get(), kFollower, kLeaderTerm, snapshot, sender_options,
        [this](Message message) { channel.post(std::move(message)); },
        [this](bool ok, const std::string& error) {
          outcome = Outcome{ok, error};
        });
  }

  void make_receiver() {
    receiver = std::make_unique<SnapshotReceiver>(
        loop.get(), follower_dir, receiver_options,
        [this](Message message) { channel.post(std::move(message)); },
        [this](raftkv::core::NodeId from, std::uint64_t term, const SnapshotInfo& info) {
          CHECK(from == kLeader);
          CHECK(term == kLeaderTerm);
          installed = info;
        });
    channel.deliver_chunk = [this](const Message& message) { receiver->on_chunk(message); };
  }

  bool run(std::uint64_t timeout_ms = 20000) {
    return loop.run_until([this] { return outcome.has_value(); }, timeout_ms);
  }

  Loop& loop;
  Channel channel;
  std::string follower_dir;
  SnapshotReceiverOptions receiver_options;
  std::unique_ptr<SnapshotReceiver> receiver;
  std::unique_ptr<SnapshotSender> sender;
  std::optional<Outcome> outcome;
  std::optional<SnapshotInfo> installed;
};

SnapshotSenderOptions small_chunks() {
  SnapshotSenderOptions options;
  options.chunk_bytes = 64 << 10;
  options.window_chunks = 4;
  options.retransmit_ms = 30;
  options.give_up_ms = 5000;
  return options;
}

std::size_t part_files(const std::string& dir) {
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".part") ++count;
  }
  return count;
}

}  // namespace

TEST_CASE("a snapshot arrives whole and byte-identical, verified and in place") {
  TempDir leader;
  TempDir follower;
  Loop loop;
  const SnapshotInfo snapshot = make_snapshot(leader.path(), 20000);
  REQUIRE(snapshot.file_bytes > 4 << 20);  // several MiB: many 1 MiB chunks

  Transfer transfer(loop, snapshot, follower.path(), SnapshotSenderOptions{});
  REQUIRE(transfer.run());
  INFO(transfer.outcome->error);
  REQUIRE(transfer.outcome->ok);
  // The follower had the file in place before the leader heard "done".
  REQUIRE(transfer.installed.has_value());
  CHECK(transfer.installed->path == follower.file(raftkv::storage::snapshot_file_name(
                                        snapshot.meta.index(), snapshot.meta.term())));
  CHECK(transfer.installed->meta.index() == snapshot.meta.index());
  CHECK(transfer.installed->pair_count == 20000);
  CHECK(read_file(transfer.installed->path) == read_file(snapshot.path));
  CHECK(part_files(follower.path()) == 0);

  const auto& sent = transfer.sender->stats();
  CHECK(sent.sent_bytes == snapshot.file_bytes);  // nothing resent on a perfect channel
  CHECK(sent.rewinds == 0);
  CHECK(sent.acked_bytes == snapshot.file_bytes);
  CHECK(transfer.receiver->stats().completed == 1);
  CHECK(transfer.receiver->stats().bytes_written == snapshot.file_bytes);
  CHECK_FALSE(transfer.receiver->stats().in_progress);
}

TEST_CASE("random drops of chunks and acks are repaired by resuming (seeded)") {
  for (const std::uint64_t seed : {1u, 2u, 3u, 4u}) {
    DYNAMIC_SECTION("seed " << seed) {
      TempDir leader;
      TempDir follower;
      Loop loop;
      const SnapshotInfo snapshot = make_snapshot(leader.path(), 5000);
      Transfer transfer(loop, snapshot, follower.path(), small_chunks());
      // One stream of draws for chunks and one for acks: how sends of the
      // two kinds interleave depends on when the thread pool's file reads
      // finish, but the n-th chunk sent always gets the n-th chunk draw, so
      // the first chunk drops (and the rewinds they force) replay exactly.
      std::mt19937_64 chunk_draws(seed);
      std::mt19937_64 ack_draws(seed + 1000);
      std::uint64_t dropped_chunks = 0;
      transfer.channel.drop = [&](const Message& message) {
        if (!message.has_snapshot_chunk()) return ack_draws() % 100 < 15;
        const bool lost = chunk_draws() % 100 < 15;
        dropped_chunks += lost;
        return lost;
      };
      REQUIRE(transfer.run());
      INFO(transfer.outcome->error);
      REQUIRE(transfer.outcome->ok);
      REQUIRE(dropped_chunks > 0);
      CHECK(transfer.channel.dropped > dropped_chunks);  // acks were lost too
      CHECK(transfer.sender->stats().rewinds > 0);
      REQUIRE(transfer.installed.has_value());
      CHECK(read_file(transfer.installed->path) == read_file(snapshot.path));
      CHECK(part_files(follower.path()) == 0);
    }
  }
}

TEST_CASE("a dropped connection resumes from the last acknowledged offset") {
  TempDir leader;
  TempDir follower;
  Loop loop;
  const SnapshotInfo snapshot = make_snapshot(leader.path(), 20000);
  SnapshotSenderOptions options = small_chunks();
  // Every retransmission after the heal resends up to a window, and the bound
  // below allows two: a timer long enough that a slow ack on a loaded machine
  // (the file reads go through the thread pool) does not look like a loss.
  options.retransmit_ms = 100;
  const std::uint64_t window = options.window_chunks * options.chunk_bytes;
  Transfer transfer(loop, snapshot, follower.path(), options);

  // Run until the receiver holds about half, then cut the link: everything
  // on the way is lost and nothing gets through for a while.
  REQUIRE(loop.run_until(
      [&] { return transfer.sender->stats().acked_bytes >= snapshot.file_bytes / 2; }));
  const std::uint64_t acked_at_cut = transfer.sender->stats().acked_bytes;
  bool link_down = true;
  transfer.channel.lose_in_flight();
  transfer.channel.drop = [&](const Message&) { return link_down; };
  loop.run_until([] { return false; }, 5 * options.retransmit_ms);  // retransmissions lost too
  CHECK(transfer.sender->stats().acked_bytes == acked_at_cut);
  link_down = false;
  const std::uint64_t sent_at_heal = transfer.sender->stats().sent_bytes;

  REQUIRE(transfer.run());
  INFO(transfer.outcome->error);
  REQUIRE(transfer.outcome->ok);
  REQUIRE(transfer.installed.has_value());
  CHECK(read_file(transfer.installed->path) == read_file(snapshot.path));
  // Resumed, not restarted: after the link healed the sender sent the rest
  // (plus at most a window or two again), and overall far less than the
  // whole file twice.
  const std::uint64_t sent_after_heal = transfer.sender->stats().sent_bytes - sent_at_heal;
  CHECK(sent_after_heal <= snapshot.file_bytes - acked_at_cut + 2 * window);
  const std::uint64_t resent = transfer.sender->stats().sent_bytes - snapshot.file_bytes;
  CHECK(resent > 0);
  CHECK(resent < snapshot.file_bytes);
}

TEST_CASE("a receiver that restarts mid-transfer gets the snapshot from the start") {
  TempDir leader;
  TempDir follower;
  Loop loop;
  const SnapshotInfo snapshot = make_snapshot(leader.path(), 5000);
  Transfer transfer(loop, snapshot, follower.path(), small_chunks());
  REQUIRE(loop.run_until(
      [&] { return transfer.sender->stats().acked_bytes >= snapshot.file_bytes / 3; }));
  REQUIRE(part_files(follower.path()) == 1);
  transfer.channel.lose_in_flight();
  transfer.receiver.reset();
  transfer.make_receiver();  // removes the leftover part file
  CHECK(part_files(follower.path()) == 0);

  REQUIRE(transfer.run());
  INFO(transfer.outcome->error);
  REQUIRE(transfer.outcome->ok);
  REQUIRE(transfer.installed.has_value());
  CHECK(read_file(transfer.installed->path) == read_file(snapshot.path));
  CHECK(transfer.sender->stats().sent_bytes > snapshot.file_bytes);
}

TEST_CASE("a corrupt byte on the way fails the transfer on both sides") {
  TempDir leader;
  TempDir follower;
  Loop loop;
  const SnapshotInfo snapshot = make_snapshot(leader.path(), 5000);
  Transfer transfer(loop, snapshot, follower.path(), small_chunks());
  bool corrupted = false;
  transfer.channel.tamper = [&](Message& message) {
    if (!corrupted && message.has_snapshot_chunk() && message.snapshot_chunk().offset() > 0) {
      // Flip one byte of the first chunk after the one holding the header.
      (*message.mutable_snapshot_chunk()->mutable_data())[100] ^= 0x20;
      corrupted = true;
    }
  };
  REQUIRE(transfer.run());
  CHECK(corrupted);
  CHECK_FALSE(transfer.outcome->ok);
  CHECK_THAT(transfer.outcome->error, Catch::Contains("refused the snapshot"));
  CHECK_FALSE(transfer.installed.has_value());
  CHECK(transfer.receiver->stats().failed == 1);
  CHECK(std::filesystem::is_empty(follower.path()));
}

TEST_CASE("no acks at all: the sender gives up after give_up_ms, not before") {
  TempDir leader;
  TempDir follower;
  Loop loop;
  const SnapshotInfo snapshot = make_snapshot(leader.path(), 2000);
  SnapshotSenderOptions options = small_chunks();
  options.give_up_ms = 300;
  Transfer transfer(loop, snapshot, follower.path(), options);
  transfer.channel.drop = [](const Message& message) { return message.has_snapshot_chunk_ack(); };
  uv_update_time(loop.get());
  const std::uint64_t started = uv_now(loop.get());
  REQUIRE(transfer.run());
  CHECK_FALSE(transfer.outcome->ok);
  CHECK_THAT(transfer.outcome->error, Catch::Contains("no progress"));
  CHECK(uv_now(loop.get()) - started >= options.give_up_ms);
  CHECK(transfer.sender->stats().rewinds >= 3);  // it kept retrying meanwhile
}

TEST_CASE("a snapshot above the receiver's size limit is refused") {
  TempDir leader;
  TempDir follower;
  Loop loop;
  const SnapshotInfo snapshot = make_snapshot(leader.path(), 2000);
  SnapshotReceiverOptions limits;
  limits.max_total_bytes = snapshot.file_bytes - 1;
  Transfer transfer(loop, snapshot, follower.path(), small_chunks(), limits);
  REQUIRE(transfer.run());
  CHECK_FALSE(transfer.outcome->ok);
  CHECK_THAT(transfer.outcome->error, Catch::Contains("exceeds the limit"));
  CHECK(std::filesystem::is_empty(follower.path()));
}

TEST_CASE("receiver answers: another snapshot mid-way starts over; a completed one is re-acked") {
  TempDir leader;
  TempDir follower;
  Loop loop;
  const SnapshotInfo snapshot = make_snapshot(leader.path(), 200);
  const std::string bytes = read_file(snapshot.path);
  std::vector<Message> acks;
  std::optional<SnapshotInfo> installed;
  SnapshotReceiver receiver(
      loop.get(), follower.path(), {}, [&](Message message) { acks.push_back(message); },
      [&](raftkv::core::NodeId, std::uint64_t, const SnapshotInfo& info) { installed = info; });
  auto chunk = [&](std::uint64_t index, std::uint64_t offset, std::size_t length) {
    Message message;
    message.set_from(kLeader);
    message.set_to(kFollower);
    message.set_term(kLeaderTerm);
    auto* c = message.mutable_snapshot_chunk();
    c->set_index(index);
    c->set_term(snapshot.meta.term());
    c->set_offset(offset);
    c->set_total_bytes(bytes.size());
    c->set_data(bytes.substr(offset, length));
    c->set_done(offset + length >= bytes.size());
    if (c->done()) *c->mutable_meta() = snapshot.meta;
    return message;
  };
  const std::uint64_t index = snapshot.meta.index();
  const std::size_t half = bytes.size() / 2;

  // A chunk in the middle of a snapshot we know nothing of: start over.
  receiver.on_chunk(chunk(index, half, bytes.size() - half));
  REQUIRE(acks.size() == 1);
  CHECK(acks.back().to() == kLeader);
  CHECK(acks.back().snapshot_chunk_ack().next_offset() == 0);
  CHECK_FALSE(acks.back().snapshot_chunk_ack().failed());

  receiver.on_chunk(chunk(index, 0, half));
  REQUIRE(loop.run_until([&] { return acks.size() == 2; }));
  CHECK(acks.back().snapshot_chunk_ack().next_offset() == half);
  // A duplicate is not written again: the answer is what we hold.
  receiver.on_chunk(chunk(index, 0, half));
  CHECK(acks.back().snapshot_chunk_ack().next_offset() == half);
  receiver.on_chunk(chunk(index, half, bytes.size() - half));
  REQUIRE(loop.run_until([&] { return installed.has_value(); }));
  CHECK(acks.back().snapshot_chunk_ack().next_offset() == bytes.size());
  CHECK(receiver.stats().bytes_written == bytes.size());
  CHECK(read_file(installed->path) == bytes);

  // The last ack was lost and the last chunk comes again: the same answer.
  const std::size_t before = acks.size();
  receiver.on_chunk(chunk(index, half, bytes.size() - half));
  REQUIRE(acks.size() == before + 1);
  CHECK(acks.back().snapshot_chunk_ack().next_offset() == bytes.size());
  CHECK(receiver.stats().completed == 1);
}

TEST_CASE("leftover part files are removed at construction") {
  TempDir follower;
  Loop loop;
  write_file(follower.file("snapshot-00000000000000000007-00000000000000000001.snap.part"), "junk");
  write_file(follower.file("keep.snap"), "other");
  SnapshotReceiver receiver(
      loop.get(), follower.path(), {}, [](Message) {},
      [](raftkv::core::NodeId, std::uint64_t, const SnapshotInfo&) {});
  CHECK(part_files(follower.path()) == 0);
  CHECK(std::filesystem::exists(follower.file("keep.snap")));
}
