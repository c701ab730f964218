// Escaping for JSON string literals.
#pragma once

#include <string>
#include <string_view>

namespace raftkv::http {

// The contents of a JSON string literal (without the quotes) for `text`.
// '"' and '\\' are escaped, control characters become \n, \t, ... or
// \u00XX, DEL becomes \u007f. Bytes >= 0x80 that form valid UTF-8 pass
// through unchanged; every byte of an invalid sequence becomes \u00XX (its
// Latin-1 reading), so the output is always valid UTF-8 and valid JSON.
// Binary data is therefore readable but not losslessly recoverable: send
// raw bytes as a non-JSON body instead.
std::string json_escape(std::string_view text);

}  // namespace raftkv::http
