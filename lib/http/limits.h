// Resource limits and timeouts of the HTTP server. Every limit is enforced by
// the server itself, before the handler sees a request; docs/http-server.md
// lists what each violation answers.
#pragma once

#include <cstddef>
#include <cstdint>

namespace raftkv::http {

struct Limits {
  // Request target (path + '?' + query) longer than this: 414.
  std::size_t max_url_bytes = 8192;
  // The whole header block (names + values + 4 bytes per line for ": " and
  // CRLF, trailers of chunked bodies included, request line excluded): 431.
  std::size_t max_header_bytes = 16384;
  // More header lines than this: 431.
  std::size_t max_headers = 64;
  // Bodies: a Content-Length above this is answered 413 right after the
  // headers, without reading the body; a chunked body is cut off with 413 as
  // soon as it grows past it. Default: the daemon's 1 MiB values + slack.
  std::size_t max_body_bytes = (std::size_t{1} << 20) + 4096;
  // Open connections; further ones are accepted and closed at once.
  std::size_t max_connections = 4096;
  // A request's headers must be complete within this time of its first byte
  // (slowloris protection); otherwise 408 and close.
  std::uint64_t header_timeout_ms = 10000;
  // No bytes at all between requests (or while a body arrives) for this
  // long: the connection is closed (between requests silently, mid-body 408).
  std::uint64_t idle_timeout_ms = 60000;
  // Responses written but not yet taken by the client (libuv's write queue)
  // above this: the client does not read, the connection is closed.
  std::size_t max_output_bytes = std::size_t{16} << 20;
  // Bytes of further pipelined requests read ahead while one request is with
  // the handler; past this the server stops reading (TCP backpressure).
  // Requests are handed to the handler one at a time per connection, so
  // this bounds the pipeline in bytes rather than in requests.
  std::size_t max_pipelined_bytes = 65536;
  // A closing connection gets this long to flush its last response and to
  // let the client see it before the socket is torn down; also the time a
  // pending request gets to be answered after Server::close().
  std::uint64_t close_grace_ms = 2000;
};

}  // namespace raftkv::http
