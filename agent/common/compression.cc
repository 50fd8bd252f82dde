#include "agent/common/compression.h"

#include <zlib.h>

namespace lookout {

Result<std::string> Inflate(std::string_view in, size_t max_output) {
  z_stream zs{};
  // 15 + 32: zlib detects gzip or zlib headers itself.
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return MakeError("encoding", "inflateInit2 failed");
  std::string out;
  out.resize(std::min<size_t>(max_output, std::max<size_t>(in.size() * 4, 4096)));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  size_t produced = 0;
  int rc = Z_OK;
  while (true) {
    if (produced == out.size()) {
      if (out.size() >= max_output) {
        // Full: only fine if the stream ends exactly here.
        unsigned char probe;
        zs.next_out = &probe;
        zs.avail_out = 1;
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END && zs.avail_out == 1) break;
        inflateEnd(&zs);
        return MakeError("too_large",
                         "decompressed body larger than " + std::to_string(max_output) + " bytes");
      }
      out.resize(std::min(max_output, out.size() * 2));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    rc = inflate(&zs, Z_NO_FLUSH);
    produced = out.size() - zs.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK) {
      inflateEnd(&zs);
      if (rc == Z_BUF_ERROR) return MakeError("encoding", "truncated compressed body");
      return MakeError("encoding", std::string("corrupt compressed body: ") +
                                       (zs.msg != nullptr ? zs.msg : "inflate failed"));
    }
    if (zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return MakeError("encoding", "truncated compressed body");
    }
  }
  inflateEnd(&zs);
  out.resize(produced);
  return out;
}

Result<std::string> Gzip(std::string_view in, int level) {
  z_stream zs{};
  // windowBits 15 + 16 selects the gzip wrapper.
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return MakeError("gzip", "deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const size_t produced = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return MakeError("gzip", "deflate did not finish");
  out.resize(produced);
  return out;
}

}  // namespace lookout
