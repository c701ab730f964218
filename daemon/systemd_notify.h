// systemd integration: READY=1 once recovered and listening, STATUS= lines,
// STOPPING=1 on shutdown, and WATCHDOG=1 from a loop timer at half of
// WATCHDOG_USEC, so that a stuck event loop gets the service restarted.
// Everything is a no-op when NOTIFY_SOCKET is not set (or when built
// without libsystemd).
#pragma once

#include <cstdint>
#include <string>

#include <uv.h>

namespace raftkv::daemon {

class SystemdNotifier {
 public:
  explicit SystemdNotifier(uv_loop_t* loop);

  // READY=1, then starts the watchdog timer when systemd asked for one.
  void ready();
  void stopping();
  // STATUS=text (what `systemctl status` shows); repeats are not sent.
  void status(const std::string& text);
  // Stops the watchdog timer; `done` runs once its handle is closed (never
  // when no timer was running).
  void close(void (*done)(uv_handle_t*) = nullptr);

  // The watchdog ping interval, 0 when there is no watchdog.
  std::uint64_t watchdog_interval_ms() const { return watchdog_interval_ms_; }

 private:
  static void on_watchdog(uv_timer_t* timer);

  uv_loop_t* loop_;
  uv_timer_t watchdog_{};
  bool watchdog_running_ = false;
  std::uint64_t watchdog_interval_ms_ = 0;
  std::string last_status_;
};

}  // namespace raftkv::daemon
