#pragma once
// Decompression of request bodies (Content-Encoding: gzip or deflate) with an output cap, so a
// small compressed body cannot expand into unbounded memory (a "zip bomb").

#include <cstddef>
#include <string>
#include <string_view>

#include "lookout/result.h"

namespace lookout {

// gzip (RFC 1952) or zlib/deflate (RFC 1950) input, detected from the header.
// Errors (reason): "too_large" (output would exceed max_output), "encoding" (corrupt/truncated).
Result<std::string> Inflate(std::string_view in, size_t max_output);

}  // namespace lookout
