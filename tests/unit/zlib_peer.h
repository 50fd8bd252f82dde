#pragma once
// zlib as the independent peer of lookout's gzip (libdeflate): what zlib writes, Inflate must
// read, and the other way round. Shared by compression_test and compression_bench (which also
// measures zlib against libdeflate). Header-only, no gtest: callers check the results.
// Thread-safety: pure functions.

#include <zlib.h>

#include <optional>
#include <string>
#include <string_view>

namespace lookout::testing {

// DEFLATE with zlib at `level`; `window_bits` 15 = zlib framing (RFC 1950), 15 + 16 = gzip.
// nullopt when zlib fails.
inline std::optional<std::string> ZlibDeflate(std::string_view in, int level, int window_bits) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return std::nullopt;
  }
  std::string out(deflateBound(&zs, in.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

// One gzip member (window_bits 15 + 16) or zlib stream (15) inflated by zlib into at most
// `max_output` bytes; nullopt when it is corrupt, truncated or larger.
inline std::optional<std::string> ZlibInflate(std::string_view in, int window_bits,
                                              size_t max_output) {
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) return std::nullopt;
  std::string out(max_output, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

}  // namespace lookout::testing
