// Request building for the systems the bench can measure:
//  - raftkv: PUT /kv/key-N (body = value), GET /kv/key-N[?stale=true],
//    compare-and-set PUT /kv/key-N?prev=OLD;
//  - etcd:   etcd 3.4's v3 JSON gateway, POST /v3/kv/put and /v3/kv/range
//    with base64 key and value ("serializable": true for --stale);
//  - plain:  GET of the URL's path, whatever the operation (a ceiling
//    reference such as nginx answering a constant).
// Requests are appended to a caller-owned buffer that is reused, so steady
// state costs no allocation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "workload.h"

namespace raftkv::bench {

enum class TargetKind { kRaftkv, kEtcd, kPlain };

bool parse_target_kind(std::string_view text, TargetKind* out);
const char* target_kind_name(TargetKind kind);

struct RequestSpec {
  OpKind kind = OpKind::kWrite;
  std::uint64_t key = 0;
  std::string_view value;  // writes and CAS
  std::string_view prev;   // CAS only; empty: a plain write
};

class RequestBuilder {
 public:
  // `host` goes in the Host header; `plain_path` is used by kPlain only.
  RequestBuilder(TargetKind kind, bool stale, std::string host, std::string plain_path);

  // Replaces *out with the bytes of one HTTP/1.1 request.
  void build(const RequestSpec& spec, std::string* out) const;

 private:
  void build_raftkv(const RequestSpec& spec, std::string* out) const;
  void build_etcd(const RequestSpec& spec, std::string* out) const;

  TargetKind kind_;
  bool stale_;
  std::string host_;
  std::string plain_path_;
};

// "key-<index>" into buf (at least 24 bytes); returns the view.
std::string_view format_key(std::uint64_t index, char* buf);
// Standard base64 (with padding) appended to *out.
void append_base64(std::string_view data, std::string* out);
// A value of `size` bytes written by a client: "c<client>-s<seq>-" padded
// with 'x' (only the prefix when size is smaller). Distinct per (client, seq),
// which compare-and-set needs to name the previous value.
void format_value(std::uint64_t client, std::uint64_t seq, std::uint64_t size, std::string* out);

}  // namespace raftkv::bench
