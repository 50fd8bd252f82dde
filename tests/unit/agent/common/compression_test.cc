#include "agent/common/compression.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "agent/common/compression.h"

namespace lookout {
namespace {

TEST(Inflate, GzipAndZlibRoundTrip) {
  const std::string text(100000, 'a');
  auto gz = Gzip(text);
  ASSERT_TRUE(gz.ok());
  auto back = Inflate(*gz, 1 << 20);
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(*back, text);
  // zlib (deflate) framing too.
  uLongf n = compressBound(text.size());
  std::string z(n, '\0');
  ASSERT_EQ(compress(reinterpret_cast<Bytef*>(z.data()), &n,
                     reinterpret_cast<const Bytef*>(text.data()), text.size()),
            Z_OK);
  z.resize(n);
  auto back2 = Inflate(z, 1 << 20);
  ASSERT_TRUE(back2.ok());
  EXPECT_EQ(*back2, text);
  // Exactly at the cap is fine.
  EXPECT_TRUE(Inflate(*gz, text.size()).ok());
}

TEST(Inflate, BombsCorruptionAndTruncation) {
  auto bomb = Gzip(std::string(64 << 20, '\0'));
  ASSERT_TRUE(bomb.ok());
  EXPECT_LT(bomb->size(), 1u << 20);
  EXPECT_EQ(Inflate(*bomb, 1 << 20).error().reason, "too_large");
  EXPECT_EQ(Inflate("\x1f\x8bnot gzip at all", 1 << 20).error().reason, "encoding");
  auto gz = Gzip(std::string(5000, 'x'));
  EXPECT_EQ(Inflate(gz->substr(0, gz->size() / 2), 1 << 20).error().reason, "encoding");
  EXPECT_EQ(Inflate("", 1 << 20).error().reason, "encoding");
}

}  // namespace
}  // namespace lookout
