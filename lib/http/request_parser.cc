#include "http/request_parser.h"

#include <algorithm>
#include <utility>

#include "http/url.h"

namespace raftkv::http {

namespace {

// RFC 9110 §5.6.2 tchar.
bool is_token(std::string_view text) {
  static constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  for (const char c : text) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && kSymbols.find(c) == std::string_view::npos) return false;
  }
  return !text.empty();
}

}  // namespace

RequestParser::RequestParser(const Limits& limits) : limits_(limits) {
  llhttp_init(&parser_, HTTP_REQUEST, &settings());
  parser_.data = this;
}

const llhttp_settings_t& RequestParser::settings() {
  static const llhttp_settings_t kSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = &RequestParser::on_message_begin;
    s.on_url = &RequestParser::on_url;
    s.on_header_field = &RequestParser::on_header_field;
    s.on_header_field_complete = &RequestParser::on_header_field_complete;
    s.on_header_value = &RequestParser::on_header_value;
    s.on_header_value_complete = &RequestParser::on_header_value_complete;
    s.on_headers_complete = &RequestParser::on_headers_complete;
    s.on_body = &RequestParser::on_body;
    s.on_chunk_header = &RequestParser::on_chunk_header;
    s.on_chunk_complete = &RequestParser::on_chunk_complete;
    s.on_message_complete = &RequestParser::on_message_complete;
    return s;
  }();
  return kSettings;
}

RequestParser& RequestParser::self(llhttp_t* parser) {
  return *static_cast<RequestParser*>(parser->data);
}

RequestParser::Result RequestParser::feed(std::string_view data) {
  if (error_status_ != 0) return {Status::kError, 0};
  complete_ = false;
  ++feed_count_;
  data_begin_ = data.data();
  data_end_ = data.data() + data.size();
  // The chunk terminator may continue at the start of this buffer.
  if (chunk_end_pending_ && chunk_end_.size() < 2) note_chunk_end(data_begin_);
  const llhttp_errno_t error = llhttp_execute(&parser_, data.data(), data.size());
  if (error == HPE_OK) return {Status::kNeedMore, data.size()};
  if ((error == HPE_PAUSED || error == HPE_PAUSED_UPGRADE) && complete_) {
    // The pause came from on_message_complete: everything before the error
    // position belongs to this request, the rest to the next one.
    const auto consumed = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data.data());
    if (error == HPE_PAUSED) llhttp_resume(&parser_);
    return {Status::kRequest, consumed};
  }
  return fail_from_llhttp(error);
}

RequestParser::Result RequestParser::finish() {
  if (error_status_ != 0) return {Status::kError, 0};
  if (phase_ == Phase::kIdle) return {Status::kNeedMore, 0};
  return fail_from_llhttp(llhttp_finish(&parser_));
}

RequestParser::Result RequestParser::fail_from_llhttp(llhttp_errno_t error) {
  if (error_status_ == 0) {  // not one of our own rejections
    const char* reason = llhttp_get_error_reason(&parser_);
    error_status_ = 400;
    error_reason_ =
        error == HPE_INVALID_CHUNK_SIZE ? Rejection::kBadChunked : Rejection::kMalformed;
    error_message_ = std::string("malformed request: ") +
                     (reason != nullptr && *reason != '\0' ? reason : llhttp_errno_name(error));
  }
  return {Status::kError, 0};
}

Request RequestParser::take_request() {
  return std::move(request_);
}

void RequestParser::recycle(Request&& used) {
  request_ = std::move(used);
  // A large body's buffer is not kept for the connection's lifetime.
  static constexpr std::size_t kKeptBodyCapacity = 4096;
  if (request_.body.capacity() > kKeptBodyCapacity) std::string().swap(request_.body);
}

bool RequestParser::take_expect_continue() {
  return std::exchange(expect_continue_, false);
}

int RequestParser::reject(Rejection reason, int status, std::string message, int llhttp_code) {
  error_reason_ = reason;
  error_status_ = status;
  error_message_ = std::move(message);
  llhttp_set_error_reason(&parser_, error_message_.c_str());
  return llhttp_code;
}

int RequestParser::on_message_begin(llhttp_t* parser) {
  RequestParser& p = self(parser);
  // Cleared in place: a recycled request keeps its capacity.
  Request& r = p.request_;
  r.method.clear();
  r.path.clear();
  r.query.clear();
  r.headers.clear();
  r.body.clear();
  r.keep_alive = true;  // the defaults of Request (request.h)
  r.http_major = 1;
  r.http_minor = 1;
  // Typical clients send 2 to 6 header lines: one allocation, not 1, 2, 4...
  r.headers.reserve(8);
  p.url_.clear();
  p.in_field_ = false;
  p.header_bytes_ = 0;
  p.expect_continue_ = false;
  p.chunk_left_ = 0;
  p.chunk_end_pending_ = false;
  p.chunk_end_.clear();
  p.phase_ = Phase::kHeaders;
  return 0;
}

int RequestParser::on_url(llhttp_t* parser, const char* at, std::size_t length) {
  RequestParser& p = self(parser);
  if (p.url_.size() + length > p.limits_.max_url_bytes) {
    return p.reject(Rejection::kUriTooLong, 414,
                    "request URI longer than " + std::to_string(p.limits_.max_url_bytes) + " bytes",
                    HPE_USER);
  }
  p.url_.append(at, length);
  return 0;
}

bool RequestParser::add_header_bytes(std::size_t count) {
  header_bytes_ += count;
  return header_bytes_ <= limits_.max_header_bytes;
}

int RequestParser::on_header_field(llhttp_t* parser, const char* at, std::size_t length) {
  RequestParser& p = self(parser);
  Headers& headers = p.request_.headers;
  if (!p.in_field_) {  // a new header line starts (not a continuation span)
    if (headers.size() >= p.limits_.max_headers) {
      return p.reject(Rejection::kTooManyHeaders, 431,
                      "more than " + std::to_string(p.limits_.max_headers) + " header fields",
                      HPE_USER);
    }
    headers.emplace_back();
    p.in_field_ = true;
  }
  if (!p.add_header_bytes(length)) return p.check_headers();
  headers.back().first.append(at, length);
  return 0;
}

int RequestParser::on_header_field_complete(llhttp_t* parser) {
  RequestParser& p = self(parser);
  p.in_field_ = false;
  p.value_spans_ = 0;
  // llhttp 8.1 lets "Name : value" through for names it does not know;
  // RFC 9112 §5.1 requires a 400 (proxies may read such names differently).
  if (!is_token(p.request_.headers.back().first)) {
    return p.reject(Rejection::kMalformed, 400, "malformed request: invalid header field name", -1);
  }
  // ": " and CRLF, so that many empty headers cannot slip under the limit.
  return p.add_header_bytes(4) ? 0 : p.check_headers();
}

int RequestParser::on_header_value(llhttp_t* parser, const char* at, std::size_t length) {
  RequestParser& p = self(parser);
  // A value continues in a second span only where one buffer ended and the
  // next began; any other split is an obs-fold (a line starting with
  // whitespace), which llhttp 8.1 accepts. RFC 9112 §5.2 lets a server
  // reject it, and we do rather than guess its meaning.
  const bool continues =
      p.value_ended_buffer_ && p.value_feed_ != p.feed_count_ && at == p.data_begin_;
  if (p.value_spans_ > 0 && !continues) {
    return p.reject(Rejection::kMalformed, 400,
                    "malformed request: obsolete line folding in a header", HPE_USER);
  }
  ++p.value_spans_;
  p.value_feed_ = p.feed_count_;
  p.value_ended_buffer_ = at + length == p.data_end_;
  if (!p.add_header_bytes(length)) return p.check_headers();
  p.request_.headers.back().second.append(at, length);
  return 0;
}

int RequestParser::on_header_value_complete(llhttp_t* parser) {
  std::string& value = self(parser).request_.headers.back().second;
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
  return 0;
}

int RequestParser::check_headers() {
  return reject(Rejection::kHeaderTooLarge, 431,
                "header block larger than " + std::to_string(limits_.max_header_bytes) + " bytes",
                HPE_USER);
}

int RequestParser::on_headers_complete(llhttp_t* parser) {
  RequestParser& p = self(parser);
  Request& request = p.request_;
  p.phase_ = Phase::kBody;
  request.method = llhttp_method_name(static_cast<llhttp_method_t>(llhttp_get_method(parser)));
  request.http_major = llhttp_get_http_major(parser);
  request.http_minor = llhttp_get_http_minor(parser);
  const auto [path, query] = split_target(p.url_);
  request.path = path;
  request.query = query;
  const bool has_length = (parser->flags & F_CONTENT_LENGTH) != 0;
  if (has_length && parser->content_length > p.limits_.max_body_bytes) {
    // Refuse before the body is read: the client may not have sent it yet
    // (Expect: 100-continue) and must not be made to.
    return p.reject(
        Rejection::kBodyTooLarge, 413,
        "request body larger than " + std::to_string(p.limits_.max_body_bytes) + " bytes", -1);
  }
  if (has_length) request.body.reserve(parser->content_length);
  const bool has_body =
      (has_length && parser->content_length > 0) || (parser->flags & F_CHUNKED) != 0;
  const std::string* expect = find_header(request.headers, "Expect");
  p.expect_continue_ = has_body && expect != nullptr && request.http_minor >= 1 &&
                       equals_ignore_case(*expect, "100-continue");
  return 0;
}

int RequestParser::on_body(llhttp_t* parser, const char* at, std::size_t length) {
  RequestParser& p = self(parser);
  if (p.request_.body.size() + length > p.limits_.max_body_bytes) {
    return p.reject(
        Rejection::kBodyTooLarge, 413,
        "request body larger than " + std::to_string(p.limits_.max_body_bytes) + " bytes",
        HPE_USER);
  }
  p.request_.body.append(at, length);
  if ((parser->flags & F_CHUNKED) != 0 && p.chunk_left_ > 0) {
    p.chunk_left_ -= std::min<std::uint64_t>(p.chunk_left_, length);
    if (p.chunk_left_ == 0) {
      p.chunk_end_pending_ = true;
      p.chunk_end_.clear();
      p.note_chunk_end(at + length);
    }
  }
  return 0;
}

void RequestParser::note_chunk_end(const char* from) {
  while (chunk_end_.size() < 2 && from < data_end_) chunk_end_.push_back(*from++);
}

int RequestParser::on_chunk_header(llhttp_t* parser) {
  RequestParser& p = self(parser);
  p.chunk_left_ = parser->content_length;  // 0 for the last chunk
  p.chunk_end_pending_ = false;
  p.chunk_end_.clear();
  return 0;
}

int RequestParser::on_chunk_complete(llhttp_t* parser) {
  RequestParser& p = self(parser);
  if (!std::exchange(p.chunk_end_pending_, false)) return 0;  // the last chunk
  // RFC 9112 §7.1: chunk-data is followed by CRLF. Anything else would let
  // a proxy and us disagree on where the body ends (request smuggling).
  if (p.chunk_end_ != "\r\n") {
    return p.reject(Rejection::kBadChunked, 400,
                    "malformed request: chunk data not followed by CRLF", HPE_USER);
  }
  return 0;
}

int RequestParser::on_message_complete(llhttp_t* parser) {
  RequestParser& p = self(parser);
  // Read keep-alive now: llhttp resets its flags once the message is done.
  p.request_.keep_alive = llhttp_should_keep_alive(parser) != 0 && llhttp_get_upgrade(parser) == 0;
  p.phase_ = Phase::kIdle;
  p.expect_continue_ = false;
  p.complete_ = true;
  return HPE_PAUSED;  // one request at a time: the caller resumes us
}

}  // namespace raftkv::http
