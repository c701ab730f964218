#include "target.h"

#include <charconv>

namespace raftkv::bench {

namespace {

void append_number(std::uint64_t n, std::string* out) {
  char buf[24];
  const auto result = std::to_chars(buf, buf + sizeof buf, n);
  out->append(buf, result.ptr);
}

void append_headers_end(std::string_view host, std::string* out) {
  out->append(" HTTP/1.1\r\nHost: ");
  out->append(host);
  out->append("\r\n");
}

}  // namespace

bool parse_target_kind(std::string_view text, TargetKind* out) {
  if (text == "raftkv")
    *out = TargetKind::kRaftkv;
  else if (text == "etcd")
    *out = TargetKind::kEtcd;
  else if (text == "plain")
    *out = TargetKind::kPlain;
  else
    return false;
  return true;
}

const char* target_kind_name(TargetKind kind) {
  switch (kind) {
    case TargetKind::kRaftkv:
      return "raftkv";
    case TargetKind::kEtcd:
      return "etcd";
    case TargetKind::kPlain:
      return "plain";
  }
  return "?";
}

std::string_view format_key(std::uint64_t index, char* buf) {
  buf[0] = 'k';
  buf[1] = 'e';
  buf[2] = 'y';
  buf[3] = '-';
  const auto result = std::to_chars(buf + 4, buf + 24, index);
  return {buf, static_cast<std::size_t>(result.ptr - buf)};
}

void append_base64(std::string_view data, std::string* out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])) << 16 |
                            static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 1]))
                                << 8 |
                            static_cast<unsigned char>(data[i + 2]);
    const char chunk[4] = {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63],
                           kAlphabet[n & 63]};
    out->append(chunk, 4);
  }
  const std::size_t rest = data.size() - i;
  if (rest == 0) return;
  std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])) << 16;
  if (rest == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8;
  const char chunk[4] = {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63],
                         rest == 2 ? kAlphabet[(n >> 6) & 63] : '=', '='};
  out->append(chunk, 4);
}

void format_value(std::uint64_t client, std::uint64_t seq, std::uint64_t size, std::string* out) {
  out->clear();
  out->push_back('c');
  append_number(client, out);
  out->append("-s");
  append_number(seq, out);
  out->push_back('-');
  if (out->size() < size) out->append(size - out->size(), 'x');
}

RequestBuilder::RequestBuilder(TargetKind kind, bool stale, std::string host,
                               std::string plain_path)
    : kind_(kind), stale_(stale), host_(std::move(host)), plain_path_(std::move(plain_path)) {}

void RequestBuilder::build(const RequestSpec& spec, std::string* out) const {
  out->clear();
  switch (kind_) {
    case TargetKind::kRaftkv:
      build_raftkv(spec, out);
      return;
    case TargetKind::kEtcd:
      build_etcd(spec, out);
      return;
    case TargetKind::kPlain:
      out->append("GET ");
      out->append(plain_path_);
      append_headers_end(host_, out);
      out->append("\r\n");
      return;
  }
}

void RequestBuilder::build_raftkv(const RequestSpec& spec, std::string* out) const {
  char key_buf[24];
  const std::string_view key = format_key(spec.key, key_buf);
  const bool read = spec.kind == OpKind::kRead;
  out->append(read ? "GET /kv/" : "PUT /kv/");
  out->append(key);
  if (read && stale_) out->append("?stale=true");
  // Values are made of [0-9a-z-] only, so they need no URL-encoding.
  if (spec.kind == OpKind::kCas && !spec.prev.empty()) {
    out->append("?prev=");
    out->append(spec.prev);
  }
  append_headers_end(host_, out);
  if (read) {
    out->append("\r\n");
    return;
  }
  out->append("Content-Length: ");
  append_number(spec.value.size(), out);
  out->append("\r\n\r\n");
  out->append(spec.value);
}

void RequestBuilder::build_etcd(const RequestSpec& spec, std::string* out) const {
  char key_buf[24];
  const std::string_view key = format_key(spec.key, key_buf);
  const bool read = spec.kind == OpKind::kRead;
  out->append(read ? "POST /v3/kv/range" : "POST /v3/kv/put");
  append_headers_end(host_, out);
  out->append("Content-Type: application/json\r\nContent-Length: ");
  // Body length is known before encoding: base64 is 4 bytes per 3, padded.
  const auto b64 = [](std::size_t n) { return (n + 2) / 3 * 4; };
  std::size_t length = 0;
  if (read)
    length = std::string_view(R"({"key":""})").size() + b64(key.size()) +
             (stale_ ? std::string_view(R"(,"serializable":true)").size() : 0);
  else
    length = std::string_view(R"({"key":"","value":""})").size() + b64(key.size()) +
             b64(spec.value.size());
  append_number(length, out);
  out->append("\r\n\r\n{\"key\":\"");
  append_base64(key, out);
  if (read) {
    out->append(stale_ ? R"(","serializable":true})" : R"("})");
    return;
  }
  out->append(R"(","value":")");
  append_base64(spec.value, out);
  out->append(R"("})");
}

}  // namespace raftkv::bench
