// systemd integration: READY=1 once recovered and listening, STATUS= lines,
// STOPPING=1 on shutdown, and WATCHDOG=1 from a loop timer at half of
// WATCHDOG_USEC, so that a stuck event loop gets the service restarted.
// Everything is a no-op when NOTIFY_SOCKET is not set (or when built
// without libsystemd).
#pragma once

#include <string>

#include <uv.h>

namespace raftkv::daemon {

class SystemdNotifier {
 public:
  explicit SystemdNotifier(uv_loop_t* loop);

  void ready();
  void stopping();
  void status(const std::string& text);
  // Stops the watchdog timer; `done` runs once its handle is closed.
  void close(void (*done)(uv_handle_t*) = nullptr);

 private:
  static void on_watchdog(uv_timer_t* timer);

  uv_loop_t* loop_;
  uv_timer_t watchdog_{};
  bool watchdog_running_ = false;
};

}  // namespace raftkv::daemon
