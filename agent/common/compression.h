#pragma once
// Compression, both ways, in one place (libdeflate: whole buffers, 2-4x zlib's speed at the same
// level; zlib's stream for /metrics bodies too large to hold uncompressed): gzip for /metrics
// responses and OTLP exports, and decompression of request bodies
// (Content-Encoding: gzip or deflate) with an output cap, so a small compressed body cannot
// expand into unbounded memory (a "zip bomb").
// Thread-safe: each thread keeps its own libdeflate (de)compressor (about 100 KiB at level 1).

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "lookout/result.h"

namespace lookout {

// gzip (RFC 1952), one member. Level 1 (of libdeflate's 0..12) by default: /metrics bodies and
// span batches compress ~10x even at the fastest level, and the CPU budget matters more than the
// last few percent of size. The result's capacity is its size (no compression-bound slack), so
// it can be kept (the span queue keeps gzipped batches).
// Errors (reason "gzip"): level outside 0..12, or libdeflate could not allocate.
Result<std::string> Gzip(std::string_view in, int level = 1);

// gzip (RFC 1952), one member, made a piece at a time (zlib's deflate stream): for bodies too
// large to hold uncompressed (a /metrics with big scraped targets), so only the compressed
// output and the piece being written are held. zlib, not libdeflate (whole buffers only); at
// level 1 it is about half libdeflate's speed. Level: zlib's 0..9, anything else its default.
// Not thread-safe; one per body.
// Errors (reason "gzip"): zlib could not allocate its state, deflate failed, or a Write/Finish
// after Finish. After an error every call fails.
class GzipStream {
 public:
  explicit GzipStream(int level = 1);
  ~GzipStream();
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;
  // Compresses `in` onto the output.
  Status Write(std::string_view in);
  // Ends the member and hands over the output; the stream is done.
  Result<std::string> Finish();

 private:
  Status Deflate(std::string_view in, int flush);
  struct State;
  std::unique_ptr<State> state_;
  std::string out_;
};

// gzip (RFC 1952, every concatenated member, as Go's gzip.Reader) or zlib/deflate (RFC 1950)
// input, detected from the header. Memory: at most max_output for the result.
// Errors (reason): "too_large" (output would exceed max_output), "encoding" (not gzip/zlib,
// corrupt, truncated, or bytes after the last gzip member that are not a member).
Result<std::string> Inflate(std::string_view in, size_t max_output);

}  // namespace lookout
