#include "agent/common/compression.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/unit/zlib_peer.h"

namespace lookout {
namespace {

// zlib writes it: 6 is zlib's default level; 15 = zlib framing, 15 + 16 = gzip.
std::string ZlibCompress(std::string_view in, int window_bits) {
  return testing::ZlibDeflate(in, 6, window_bits).value();
}

std::string Noise(size_t n) {
  std::mt19937 rng(7);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>("spanidtraceGETPOST/api/v1 0123456789"[rng() % 36]);
  return s;
}

TEST(Inflate, GzipAndZlibRoundTrip) {
  const std::string text(100000, 'a');
  auto gz = Gzip(text);
  ASSERT_TRUE(gz.ok());
  auto back = Inflate(*gz, 1 << 20);
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(*back, text);
  // zlib (deflate) framing, written by zlib.
  auto back2 = Inflate(ZlibCompress(text, 15), 1 << 20);
  ASSERT_TRUE(back2.ok());
  EXPECT_EQ(*back2, text);
  // Exactly at the cap is fine.
  EXPECT_TRUE(Inflate(*gz, text.size()).ok());
  EXPECT_EQ(Inflate(*gz, text.size() - 1).error().reason, "too_large");
}

TEST(Gzip, ZlibReadsWhatItWritesAtEveryLevelAndItReadsZlibsGzip) {
  const std::string text = Noise(300000);
  for (int level : {0, 1, 6, 12}) {
    auto gz = Gzip(text, level);
    ASSERT_TRUE(gz.ok()) << level;
    EXPECT_EQ(testing::ZlibInflate(*gz, 15 + 16, 1 << 22), text) << level;
  }
  auto back = Inflate(ZlibCompress(text, 15 + 16), 1 << 20);
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(*back, text);
  EXPECT_EQ(Gzip(text, 13).error().reason, "gzip");
  EXPECT_EQ(Gzip(text, -1).error().reason, "gzip");
  auto empty = Gzip("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(Inflate(*empty, 10).value(), "");
}

TEST(Inflate, ConcatenatedGzipMembersAreOneBodyAndTrailingGarbageIsAnError) {
  const std::string a = Noise(5000), b(70000, 'b');
  const std::string two = *Gzip(a) + ZlibCompress(b, 15 + 16);
  auto back = Inflate(two, 1 << 20);
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(*back, a + b);
  // The cap counts the whole body, not each member.
  EXPECT_EQ(Inflate(two, a.size() + b.size() - 1).error().reason, "too_large");
  EXPECT_EQ(Inflate(*Gzip(a) + "junk", 1 << 20).error().reason, "encoding");
  EXPECT_EQ(Inflate(*Gzip(a) + "\x1f\x8b", 1 << 20).error().reason, "encoding");
}

TEST(Inflate, ALyingSizeTrailerIsACorruptBody) {
  const std::string text = Noise(200000);
  std::string gz = *Gzip(text);
  std::string small = gz;
  small.replace(small.size() - 4, 4, std::string("\x0a\0\0\0", 4));
  // libdeflate checks ISIZE against what it decompressed: a wrong one is a corrupt body.
  EXPECT_EQ(Inflate(small, 1 << 20).error().reason, "encoding");
  // ISIZE says 4 GiB on a tiny body: refused as corrupt. (Its first buffer is sized by DEFLATE's
  // ~1032:1 bound on the body, not by ISIZE; this test does not see allocations.)
  std::string tiny = *Gzip("x");
  tiny.replace(tiny.size() - 4, 4, "\xff\xff\xff\xff");
  EXPECT_EQ(Inflate(tiny, 64 << 20).error().reason, "encoding");
}

TEST(Inflate, BombsCorruptionAndTruncation) {
  auto bomb = Gzip(std::string(64 << 20, '\0'));
  ASSERT_TRUE(bomb.ok());
  EXPECT_LT(bomb->size(), 1u << 20);
  EXPECT_EQ(Inflate(*bomb, 1 << 20).error().reason, "too_large");
  EXPECT_EQ(Inflate(ZlibCompress(std::string(64 << 20, '\0'), 15), 1 << 20).error().reason,
            "too_large");
  EXPECT_EQ(Inflate("\x1f\x8bnot gzip at all", 1 << 20).error().reason, "encoding");
  EXPECT_EQ(Inflate("plain text", 1 << 20).error().reason, "encoding");
  auto gz = Gzip(std::string(5000, 'x'));
  for (size_t cut = 0; cut < gz->size(); ++cut) {
    EXPECT_EQ(Inflate(gz->substr(0, cut), 1 << 20).error().reason, "encoding") << cut;
  }
  std::string flipped = *gz;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x55);
  EXPECT_FALSE(Inflate(flipped, 1 << 20).ok());
  EXPECT_EQ(Inflate("", 1 << 20).error().reason, "encoding");
}

}  // namespace
}  // namespace lookout

namespace lookout {
namespace {

// Written in pieces of any size, the stream is one gzip member that zlib reads back whole (a
// second member would stop zlib's single-member inflate short).
TEST(GzipStream, PiecesOfAnySizeMakeOneMemberZlibReadsWhole) {
  const std::string text = Noise(3 << 20);
  for (const size_t piece : {size_t{1} << 20, size_t{262144}, size_t{4097}, text.size()}) {
    GzipStream gz;
    for (size_t at = 0; at < text.size(); at += piece) {
      ASSERT_TRUE(gz.Write(std::string_view(text).substr(at, piece)).ok());
    }
    auto z = gz.Finish();
    ASSERT_TRUE(z.ok());
    EXPECT_LT(z->size(), text.size() * 3 / 4) << piece;  // 36 symbols: about 2/3
    EXPECT_EQ(testing::ZlibInflate(*z, 15 + 16, text.size() + 1), text) << piece;
    auto back = Inflate(*z, text.size());
    ASSERT_TRUE(back.ok()) << back.error().detail;
    EXPECT_EQ(*back, text);
  }
  GzipStream empty;
  auto z = empty.Finish();
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(testing::ZlibInflate(*z, 15 + 16, 16), "");
}

}  // namespace
}  // namespace lookout
