#include "response_parser.h"

namespace raftkv::bench {

ResponseParser::ResponseParser(OnResponse on_response, void* context)
    : on_response_(on_response), context_(context) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = &ResponseParser::on_message_begin;
  settings_.on_body = &ResponseParser::on_body;
  settings_.on_message_complete = &ResponseParser::on_message_complete;
  reset();
}

void ResponseParser::reset() {
  llhttp_init(&parser_, HTTP_RESPONSE, &settings_);
  parser_.data = this;
  mid_message_ = false;
  keep_alive_ = true;
  body_.clear();
  error_ = "";
}

int ResponseParser::on_message_begin(llhttp_t* parser) {
  auto* self = static_cast<ResponseParser*>(parser->data);
  self->mid_message_ = true;
  self->body_.clear();
  return 0;
}

int ResponseParser::on_body(llhttp_t* parser, const char* at, std::size_t length) {
  auto* self = static_cast<ResponseParser*>(parser->data);
  if (self->capture_body_) self->body_.append(at, length);
  return 0;
}

int ResponseParser::on_message_complete(llhttp_t* parser) {
  auto* self = static_cast<ResponseParser*>(parser->data);
  self->mid_message_ = false;
  const int status = llhttp_get_status_code(parser);
  self->keep_alive_ = llhttp_should_keep_alive(parser) != 0;
  // Interim answers (100 Continue) precede the real one; skip them.
  if (status >= 200) self->on_response_(self->context_, status, self->body_);
  return 0;
}

bool ResponseParser::feed(const char* data, std::size_t size) {
  const llhttp_errno_t err = llhttp_execute(&parser_, data, size);
  if (err == HPE_OK) return true;
  error_ = llhttp_errno_name(err);
  return false;
}

bool ResponseParser::finish() {
  const llhttp_errno_t err = llhttp_finish(&parser_);
  if (err != HPE_OK) {
    error_ = llhttp_errno_name(err);
    return false;
  }
  if (mid_message_) {
    error_ = "response truncated by end of stream";
    return false;
  }
  return true;
}

}  // namespace raftkv::bench
