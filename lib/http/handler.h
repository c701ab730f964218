// The application callback the server hands each request to.
#pragma once

#include <functional>

#include "http/request.h"
#include "http/responder.h"

namespace raftkv::http {

// Called on the loop thread, one request at a time per connection (the next
// pipelined request waits until this one is answered). Exceptions are
// caught and answered 500.
using Handler = std::function<void(Request&& request, Responder responder)>;

}  // namespace raftkv::http
