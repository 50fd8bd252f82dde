// The Go-compatible helpers of file_util.h: each expectation is what Go's strings/strconv
// functions return for the same input (the values node_exporter computes from a file).
#include <cmath>
#include <limits>

#include "agent/common/file_util.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

TEST(TrimGoSpace, AsciiAndUnicodeWhiteSpace) {
  EXPECT_EQ(TrimGoSpace(" \t\n\v\f\r x y \r\n"), "x y");
  EXPECT_EQ(TrimGoSpace("\xC2\x85\xC2\xA0up\xE2\x80\x83\xE3\x80\x80"),
            "up");  // NEL, NBSP, EM, ideographic
  EXPECT_EQ(TrimGoSpace(""), "");
  EXPECT_EQ(TrimGoSpace(" \n "), "");
  EXPECT_EQ(TrimGoSpace("\xC2"), "\xC2");  // a cut sequence is not space
  EXPECT_EQ(TrimGoSpace("a\xC2"), "a\xC2");
  EXPECT_EQ(TrimGoSpace("\xE2\x80\x8B"
                        "a"),
            "\xE2\x80\x8B"
            "a");  // U+200B is not space in Go
}

TEST(SplitGoFields, RunsOfWhiteSpace) {
  std::vector<std::string_view> f;
  SplitGoFields("  md0 : active\traid1\r\n", f);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0], "md0");
  EXPECT_EQ(f[3], "raid1");
  SplitGoFields(
      "a\xC2\xA0"
      "b",
      f);  // NBSP separates
  EXPECT_EQ(f.size(), 2u);
  SplitGoFields("", f);
  EXPECT_TRUE(f.empty());
  SplitGoFields("\xff\xfe", f);  // invalid bytes are not space
  EXPECT_EQ(f.size(), 1u);
}

TEST(ParseGoInt, Base0LikeStrconv) {
  EXPECT_EQ(ParseGoInt("0x1003", 0), 4099);
  EXPECT_EQ(ParseGoInt("0X1f", 0), 31);
  EXPECT_EQ(ParseGoInt("-1", 0), -1);
  EXPECT_EQ(ParseGoInt("+7", 0), 7);
  EXPECT_EQ(ParseGoInt("010", 0), 8);  // a leading 0 is octal
  EXPECT_EQ(ParseGoInt("0o17", 0), 15);
  EXPECT_EQ(ParseGoInt("0b101", 0), 5);
  EXPECT_EQ(ParseGoInt("0", 0), 0);
  EXPECT_EQ(ParseGoInt("1_000", 0), 1000);
  EXPECT_EQ(ParseGoInt("0x_1f", 0), 31);
  EXPECT_EQ(ParseGoInt("9223372036854775807", 0), INT64_MAX);
  EXPECT_EQ(ParseGoInt("-9223372036854775808", 0), INT64_MIN);
  for (const char* bad : {"", "-", "0x", "08", "1__0", "_1", "1_", "9223372036854775808", "1.5",
                          " 1", "1 ", "0x1g", "99999999999999999999999"}) {
    EXPECT_FALSE(ParseGoInt(bad, 0).has_value()) << bad;
  }
}

TEST(ParseGoInt, Base10) {
  EXPECT_EQ(ParseGoInt("-5", 10), -5);
  EXPECT_EQ(ParseGoInt("+5", 10), 5);
  EXPECT_EQ(ParseGoInt("007", 10), 7);
  EXPECT_FALSE(ParseGoInt("1_000", 10).has_value());  // '_' only with base 0
  EXPECT_FALSE(ParseGoInt("0x10", 10).has_value());
  EXPECT_FALSE(ParseGoInt("1e3", 10).has_value());
}

TEST(ParseGoFloat, LikeStrconv) {
  EXPECT_EQ(ParseGoFloat(".5"), 0.5);
  EXPECT_EQ(ParseGoFloat("5."), 5);
  EXPECT_EQ(ParseGoFloat("+1"), 1);
  EXPECT_EQ(ParseGoFloat("1E5"), 1e5);
  EXPECT_EQ(ParseGoFloat("-0"), 0);
  EXPECT_TRUE(std::signbit(*ParseGoFloat("-0")));
  EXPECT_EQ(ParseGoFloat("1_000.5"), 1000.5);
  EXPECT_EQ(ParseGoFloat("0x1p4"), 16);
  EXPECT_EQ(ParseGoFloat("0x1.8p1"), 3);
  EXPECT_EQ(ParseGoFloat("1e-400"), 0);  // underflow is not an error
  EXPECT_EQ(ParseGoFloat("inf"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(ParseGoFloat("+Infinity"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(ParseGoFloat("-INF"), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(*ParseGoFloat("NaN")));
  EXPECT_TRUE(std::isnan(*ParseGoFloat("nan")));
  for (const char* bad :
       {"",  "+nan", "-NaN", "infin", "infx", "1e400", "-1e400", "0x10", "0x",  "1e",  "e5",
        ".", "1..2", "1_",   "_1",    "1__0", " 1",    "1 ",     "0x1p", "--1", "1e+", "abc"}) {
    EXPECT_FALSE(ParseGoFloat(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace lookout
