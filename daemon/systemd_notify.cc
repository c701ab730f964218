#include "daemon/systemd_notify.h"

#ifdef RAFTKV_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace raftkv::daemon {
namespace {

void notify(const std::string& state) {
#ifdef RAFTKV_HAVE_SYSTEMD
  // Keep NOTIFY_SOCKET in the environment (0): we notify many times.
  sd_notify(0, state.c_str());
#else
  (void)state;
#endif
}

// WATCHDOG_USEC, or 0 when unset or meant for another process
// (sd_watchdog_enabled checks WATCHDOG_PID).
std::uint64_t watchdog_usec() {
#ifdef RAFTKV_HAVE_SYSTEMD
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) return usec;
#endif
  return 0;
}

}  // namespace

SystemdNotifier::SystemdNotifier(uv_loop_t* loop) : loop_(loop) {}

void SystemdNotifier::ready() {
  notify("READY=1");
  const std::uint64_t usec = watchdog_usec();
  if (usec == 0 || watchdog_running_) return;
  // Pinging at half the timeout leaves a full half for a slow iteration.
  // The timer runs on the loop, so a loop stuck for longer stops the pings
  // and systemd restarts the member (WatchdogSec= in the unit).
  watchdog_interval_ms_ = usec / 2000 > 0 ? usec / 2000 : 1;
  uv_timer_init(loop_, &watchdog_);
  watchdog_.data = this;
  uv_timer_start(&watchdog_, &SystemdNotifier::on_watchdog, 0, watchdog_interval_ms_);
  watchdog_running_ = true;
}

void SystemdNotifier::stopping() {
  notify("STOPPING=1");
}

void SystemdNotifier::status(const std::string& text) {
  if (text == last_status_) return;
  last_status_ = text;
  notify("STATUS=" + text);
}

void SystemdNotifier::on_watchdog(uv_timer_t*) {
  notify("WATCHDOG=1");
}

void SystemdNotifier::close(void (*done)(uv_handle_t*)) {
  if (!watchdog_running_) return;
  watchdog_running_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&watchdog_), done);
}

}  // namespace raftkv::daemon
