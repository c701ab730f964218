#include <catch2/catch.hpp>

#include "http/json.h"

using raftkv::http::json_escape;
using namespace std::string_literals;

TEST_CASE("json_escape escapes quotes, backslashes and control characters") {
  CHECK(json_escape("plain") == "plain");
  CHECK(json_escape("a\"b\\c") == "a\\\"b\\\\c");
  CHECK(json_escape("\n\r\t\b\f") == "\\n\\r\\t\\b\\f");
  CHECK(json_escape("\x01\x1f\x7f") == "\\u0001\\u001f\\u007f");
  CHECK(json_escape("nul\0byte"s) == "nul\\u0000byte");
  CHECK(json_escape("") == "");
  CHECK(json_escape("</script>") == "</script>");
}

TEST_CASE("json_escape passes valid UTF-8 through") {
  CHECK(json_escape("caf\xc3\xa9") == "caf\xc3\xa9");            // é
  CHECK(json_escape("\xe2\x82\xac") == "\xe2\x82\xac");          // €
  CHECK(json_escape("\xf0\x9f\x98\x80") == "\xf0\x9f\x98\x80");  // U+1F600
}

TEST_CASE("json_escape turns bytes of invalid UTF-8 into \\u00XX") {
  CHECK(json_escape("\xff") == "\\u00ff");
  CHECK(json_escape("\x80x") == "\\u0080x");
  CHECK(json_escape("\xc3") == "\\u00c3");                                   // truncated sequence
  CHECK(json_escape("\xc0\xaf") == "\\u00c0\\u00af");                        // overlong '/'
  CHECK(json_escape("\xed\xa0\x80") == "\\u00ed\\u00a0\\u0080");             // surrogate
  CHECK(json_escape("\xf4\x90\x80\x80") == "\\u00f4\\u0090\\u0080\\u0080");  // > U+10FFFF
  CHECK(json_escape("\xe2\x82") == "\\u00e2\\u0082");
}

TEST_CASE("json_escape of arbitrary binary yields only printable ASCII or valid UTF-8") {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string escaped = json_escape(all);
  for (const char c : escaped) {
    const auto byte = static_cast<unsigned char>(c);
    CHECK(byte >= 0x20);
    CHECK(byte < 0x7f);  // every byte >= 0x80 is invalid alone, hence escaped
  }
}
