// DiskWatchdog: when a member counts its disk as full or stuck, what it
// refuses, and when a leader hands off (pure bookkeeping, time passed in).
#include <catch2/catch.hpp>

#include "daemon/disk_watchdog.h"

using raftkv::daemon::DiskState;
using raftkv::daemon::DiskWatchdog;

TEST_CASE("a batch in flight past the limit is a stuck disk until it completes",
          "[disk-watchdog]") {
  DiskWatchdog dog(300, 600);
  CHECK_FALSE(dog.check(1000, false, std::nullopt));
  CHECK_FALSE(dog.check(1000, false, 900));  // in flight 100 ms: fine
  CHECK(dog.refusal() == nullptr);
  CHECK(dog.check(1200, false, 900));  // 300 ms: stuck, hand off at once
  CHECK(dog.state() == DiskState::kStuck);
  CHECK(std::string(dog.refusal()) == "disk stuck");
  CHECK(dog.metrics().stuck_episodes == 1);
  dog.note_handoff(1200, true);
  CHECK_FALSE(dog.check(1500, false, 900));  // still stuck, next attempt not due
  CHECK(dog.check(1800, false, 900));        // due again: the transfer may have failed
  dog.note_handoff(1800, true);
  CHECK(dog.metrics().handoffs == 2);
  CHECK_FALSE(dog.check(1900, false, std::nullopt));  // the write returned
  CHECK(dog.state() == DiskState::kOk);
  CHECK(dog.refusal() == nullptr);
  // A new episode acts at once again and is counted again.
  CHECK(dog.check(5000, false, 4600));
  CHECK(dog.metrics().stuck_episodes == 2);
}

TEST_CASE("a full disk is refused at once, whatever the batch's age", "[disk-watchdog]") {
  DiskWatchdog dog(300, 600);
  CHECK(dog.check(1000, true, 1000));
  CHECK(dog.state() == DiskState::kFull);
  CHECK(std::string(dog.refusal()) == "disk full");
  CHECK(dog.first_attempt());
  dog.note_handoff(1000, false);  // no target: not counted as a hand-off
  CHECK_FALSE(dog.first_attempt());
  CHECK(dog.metrics().handoffs == 0);
  // Space returns while the batch is still being written: not stuck yet.
  CHECK_FALSE(dog.check(1100, false, 1000));
  CHECK(dog.state() == DiskState::kOk);
  CHECK(dog.metrics().stuck_episodes == 0);
}
