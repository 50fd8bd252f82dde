#include "agent/common/compression.h"

#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <memory>

namespace lookout {
namespace {

struct CompressorFree {
  void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};
struct DecompressorFree {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

// libdeflate's (de)compressors are not thread-safe and cost an allocation each (the level-1
// compressor's hash tables are ~100 KiB), so each thread keeps one per level and reuses it: the
// span exporter and the /metrics server compress on a few long-lived threads.
libdeflate_compressor* CompressorFor(int level) {
  thread_local std::array<std::unique_ptr<libdeflate_compressor, CompressorFree>, 13> cache;
  auto& c = cache[static_cast<size_t>(level)];
  if (!c) c.reset(libdeflate_alloc_compressor(level));
  return c.get();
}

libdeflate_decompressor* Decompressor() {
  thread_local std::unique_ptr<libdeflate_decompressor, DecompressorFree> d(
      libdeflate_alloc_decompressor());
  return d.get();
}

bool IsGzip(std::string_view in) {
  return in.size() >= 2 && static_cast<unsigned char>(in[0]) == 0x1f &&
         static_cast<unsigned char>(in[1]) == 0x8b;
}

// RFC 1950 §2.2: CM = 8 (deflate), CINFO <= 7, and CMF*256 + FLG a multiple of 31.
bool IsZlib(std::string_view in) {
  if (in.size() < 2) return false;
  const auto cmf = static_cast<unsigned char>(in[0]);
  const auto flg = static_cast<unsigned char>(in[1]);
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
}

// A gzip member's ISIZE (RFC 1952 §2.3.1: the input size modulo 2^32, the last 4 bytes). Only a
// first guess of the output size: a client may lie or send several members.
size_t GzipSizeHint(std::string_view member) {
  const auto* p = reinterpret_cast<const unsigned char*>(member.data() + member.size() - 4);
  return static_cast<size_t>(p[0]) | (static_cast<size_t>(p[1]) << 8) |
         (static_cast<size_t>(p[2]) << 16) | (static_cast<size_t>(p[3]) << 24);
}

}  // namespace

Result<std::string> Inflate(std::string_view in, size_t max_output) {
  const bool gzip = IsGzip(in);
  if (!gzip && !IsZlib(in)) {
    return MakeError("encoding", "not a gzip or zlib stream (bad header)");
  }
  libdeflate_decompressor* d = Decompressor();
  if (d == nullptr) return MakeError("encoding", "libdeflate_alloc_decompressor failed");
  // A first guess at the size, doubled on LIBDEFLATE_INSUFFICIENT_SPACE up to max_output, so a
  // small body that expands without end (a "zip bomb") costs at most ~2x max_output of work and
  // max_output of memory. libdeflate stops as soon as the output would not fit.
  size_t guess = std::max<size_t>(in.size() * 4, 4096);
  // DEFLATE expands at most ~1032:1, so a larger ISIZE is a lie: never trust it beyond that.
  if (gzip && in.size() >= 18)
    guess = std::max(guess, std::min(GzipSizeHint(in), in.size() * 1032));
  std::string out;
  out.resize(std::min(max_output, guess));
  size_t produced = 0;
  std::string_view rest = in;
  // gzip: every member, concatenated (RFC 1952 §2.2), as Go's gzip.Reader and zlib's gunzip
  // read them; anything after the last member that is not a member is an error, as in Go.
  while (true) {
    size_t used_in = 0, made = 0;
    const libdeflate_result r =
        gzip ? libdeflate_gzip_decompress_ex(d, rest.data(), rest.size(), out.data() + produced,
                                             out.size() - produced, &used_in, &made)
             : libdeflate_zlib_decompress_ex(d, rest.data(), rest.size(), out.data() + produced,
                                             out.size() - produced, &used_in, &made);
    if (r == LIBDEFLATE_INSUFFICIENT_SPACE) {
      if (out.size() >= max_output) {
        return MakeError("too_large",
                         "decompressed body larger than " + std::to_string(max_output) + " bytes");
      }
      out.resize(std::min(max_output, std::max<size_t>(out.size() * 2, 4096)));
      continue;  // this member again, into the larger buffer
    }
    if (r != LIBDEFLATE_SUCCESS) {
      // libdeflate does not tell truncation from corruption: both end the stream early.
      return MakeError("encoding", "corrupt or truncated compressed body");
    }
    produced += made;
    rest.remove_prefix(used_in);
    if (rest.empty() || !gzip) break;  // zlib: one stream; what follows is ignored, as zlib does
    if (!IsGzip(rest)) {
      return MakeError("encoding", "data after the last gzip member is not a gzip member");
    }
  }
  out.resize(produced);
  return out;
}

Result<std::string> Gzip(std::string_view in, int level) {
  if (level < 0 || level > 12) {
    return MakeError("gzip", "compression level " + std::to_string(level) + " not in 0..12");
  }
  libdeflate_compressor* c = CompressorFor(level);
  if (c == nullptr) return MakeError("gzip", "libdeflate_alloc_compressor failed");
  std::string out;
  out.resize(libdeflate_gzip_compress_bound(c, in.size()));
  const size_t n = libdeflate_gzip_compress(c, in.data(), in.size(), out.data(), out.size());
  if (n == 0) return MakeError("gzip", "output larger than libdeflate's bound");
  out.resize(n);
  // Give back the bound's slack (about 5x the output for span batches): a gzipped batch may wait
  // in the span queue, and heaptrack showed queued batches' slack as 20 MiB of a 55 MiB peak.
  // The copy is ~1/20 of the compression's own time.
  out.shrink_to_fit();
  return out;
}

struct GzipStream::State {
  z_stream z{};
  bool initialized = false;  // deflateInit2 succeeded: deflateEnd is owed
  bool ok = false;           // initialized and no call failed since
  bool finished = false;     // Finish() ran: the stream takes nothing more
};

GzipStream::GzipStream(int level) : state_(std::make_unique<State>()) {
  // windowBits 15 + 16: a gzip header and trailer around the deflate stream. Levels outside
  // zlib's 0..9 are its default (-1), not a silent "no compression".
  const int zlevel = level >= 0 && level <= 9 ? level : Z_DEFAULT_COMPRESSION;
  state_->initialized =
      deflateInit2(&state_->z, zlevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  state_->ok = state_->initialized;
}

GzipStream::~GzipStream() {
  if (state_->initialized) deflateEnd(&state_->z);
}

Status GzipStream::Deflate(std::string_view in, int flush) {
  if (state_->finished) return MakeError("gzip", "write after the end of the stream");
  if (!state_->ok) return MakeError("gzip", "deflateInit2 failed or an earlier deflate failed");
  z_stream& z = state_->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  while (true) {
    // Room for what is left of this piece (deflateBound), and at least 64 KiB so the end of the
    // stream drains in a call or two.
    const size_t used = out_.size();
    const size_t room = std::max<size_t>(deflateBound(&z, z.avail_in), size_t{64} * 1024);
    out_.resize(used + room);
    z.next_out = reinterpret_cast<Bytef*>(out_.data() + used);
    z.avail_out = static_cast<uInt>(room);
    const int r = deflate(&z, flush);
    const size_t made = room - z.avail_out;
    out_.resize(used + made);
    // Z_BUF_ERROR is "no progress possible", harmless only when the input is used up and
    // nothing was left to write; any other negative result is a broken stream.
    if (r == Z_STREAM_END) return Ok{};
    if ((r < 0 && r != Z_BUF_ERROR) || (r == Z_BUF_ERROR && made == 0 && z.avail_in > 0)) {
      state_->ok = false;
      return MakeError("gzip", "deflate failed (" + std::to_string(r) + ")");
    }
    if (flush != Z_FINISH && z.avail_in == 0 && z.avail_out > 0) return Ok{};
  }
}

Status GzipStream::Write(std::string_view in) {
  // zlib counts input in uInt: feed pieces of at most 1 GiB.
  while (!in.empty()) {
    const std::string_view piece = in.substr(0, size_t{1} << 30);
    if (Status st = Deflate(piece, Z_NO_FLUSH); !st.ok()) return st;
    in.remove_prefix(piece.size());
  }
  return Ok{};
}

Result<std::string> GzipStream::Finish() {
  if (Status st = Deflate({}, Z_FINISH); !st.ok()) return st.error();
  state_->finished = true;
  out_.shrink_to_fit();
  return std::move(out_);
}

}  // namespace lookout
