#include "agent/common/base64.h"

#include <gtest/gtest.h>

namespace lookout {
namespace {

TEST(Base64, Rfc4648TestVectors) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("fo"), "Zm8=");
  EXPECT_EQ(Base64("foo"), "Zm9v");
  EXPECT_EQ(Base64("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
}

TEST(Base64, BinaryBytesAndTheUrlUnsafeAlphabet) {
  EXPECT_EQ(Base64(std::string("\0\xff\xfe", 3)), "AP/+");
  EXPECT_EQ(Base64("user:pa ss"), "dXNlcjpwYSBzcw==");  // basic auth
}

}  // namespace
}  // namespace lookout
