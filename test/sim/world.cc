#include "world.h"

#include <cinttypes>
#include <cstdio>

namespace raftkv::sim {

void Trace::vlog(Time now, std::uint64_t step, const char* format, va_list args) const {
  std::printf("#%-7" PRIu64 " %6" PRIu64 ".%03" PRIu64 "ms  ", step, now / kMillisecond,
              now % kMillisecond);
  std::vprintf(format, args);
  std::putchar('\n');
}

void World::log(const char* format, ...) const {
  if (!trace.enabled) return;
  va_list args;
  va_start(args, format);
  trace.vlog(queue.now(), stats.events, format, args);
  va_end(args);
}

}  // namespace raftkv::sim
