// Test helper: the handler most server tests use. Paths:
//   /delay/N   answered after N ms from a uv_timer (asynchronously)
//   /status/N  answered with status N
//   /big/N     answered with an N-byte body
//   /throw     the handler throws
//   /drop      the handler drops its Responder without answering
//   /hold      the Responder is kept in `held` (touch it on the loop only)
//   otherwise  200, text/plain "METHOD PATH[?QUERY]\n" + request body
#pragma once

#include <uv.h>

#include <memory>
#include <vector>

#include "http/handler.h"

namespace raftkv::http::testing {

struct Held {
  std::vector<Responder> responders;
};

Handler test_handler(uv_loop_t* loop, std::shared_ptr<Held> held = nullptr);

// Sends `response` through `responder` after `delay_ms` on `loop`.
void answer_later(uv_loop_t* loop, std::uint64_t delay_ms, Responder responder, Response response);

}  // namespace raftkv::http::testing
