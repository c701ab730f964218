// Incremental HTTP/1.1 response parsing on top of llhttp, for keep-alive and
// pipelined connections: bytes go in as they arrive, split anywhere, and a
// callback fires once per complete response, in order.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <llhttp.h>

namespace raftkv::bench {

class ResponseParser {
 public:
  // status is the final (>= 200) status code; body is empty unless body
  // capture is on (only the /status lookup needs it: the load path skips
  // copying bodies).
  using OnResponse = void (*)(void* context, int status, std::string_view body);

  ResponseParser(OnResponse on_response, void* context);
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  void set_capture_body(bool on) { capture_body_ = on; }
  // False on malformed input; error() says why. The parser must then be reset.
  bool feed(const char* data, std::size_t size);
  // At end of stream: completes a response whose body runs to EOF; false if
  // the stream ended inside a response.
  bool finish();
  void reset();
  const char* error() const { return error_; }
  // True between the first byte of a response and its completion.
  bool mid_message() const { return mid_message_; }
  // Whether the last complete response allows another request on the
  // connection (false after "Connection: close" or an HTTP/1.0 answer).
  bool keep_alive() const { return keep_alive_; }

 private:
  static int on_message_begin(llhttp_t* parser);
  static int on_body(llhttp_t* parser, const char* at, std::size_t length);
  static int on_message_complete(llhttp_t* parser);

  llhttp_settings_t settings_{};
  llhttp_t parser_{};
  OnResponse on_response_;
  void* context_;
  bool capture_body_ = false;
  bool mid_message_ = false;
  bool keep_alive_ = true;
  std::string body_;
  const char* error_ = "";
};

}  // namespace raftkv::bench
