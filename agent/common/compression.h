#pragma once
// Compression, both ways, in one place (zlib): gzip for /metrics responses and OTLP exports, and
// decompression of request bodies (Content-Encoding: gzip or deflate) with an output cap, so a
// small compressed body cannot expand into unbounded memory (a "zip bomb").
// Pure functions; thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

#include "lookout/result.h"

namespace lookout {

// gzip (RFC 1952). Level 1 by default: /metrics bodies compress ~10x even at the fastest level,
// and the scrape's CPU budget matters more than the last few percent of size.
// Errors (reason "gzip"): zlib could not initialise or finish.
Result<std::string> Gzip(std::string_view in, int level = 1);

// gzip (RFC 1952) or zlib/deflate (RFC 1950) input, detected from the header.
// Errors (reason): "too_large" (output would exceed max_output), "encoding" (corrupt/truncated).
Result<std::string> Inflate(std::string_view in, size_t max_output);

}  // namespace lookout
