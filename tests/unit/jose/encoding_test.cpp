#include "encoding.hpp"

#include <gtest/gtest.h>

#include "danemq/jose/errors.hpp"

namespace danemq::jose::detail {
namespace {

TEST(Base64url, RoundTripsWithoutPadding) {
  EXPECT_EQ(base64url_encode(std::string_view("")), "");
  EXPECT_EQ(base64url_encode(std::string_view("f")), "Zg");
  EXPECT_EQ(base64url_encode(std::string_view("\xfb\xff")), "-_8");
  EXPECT_EQ(*base64url_decode_text("Zm9vYg", "t"), "foob");
  EXPECT_EQ(*base64url_decode_text("", "t"), "");
}

TEST(Base64url, RefusesEveryOtherSpellingOfTheSameBytes) {
  for (const char* text : {"Zg==", "Zh", "+/8", "Z g", "Z", "Zm9vYg=", "Zm9v\n"}) {
    auto decoded = base64url_decode(text, "field");
    ASSERT_FALSE(decoded) << text;
    EXPECT_EQ(decoded.error().code, make_error_code(errc::bad_format)) << text;
    EXPECT_NE(decoded.error().detail.find("field"), std::string::npos);
  }
}

TEST(JsonObject, RefusesDuplicatesAtAnyDepthAndNonObjects) {
  EXPECT_TRUE(parse_json_object(R"({"a":1,"b":{"a":2}})", "h"));
  EXPECT_FALSE(parse_json_object(R"({"alg":"RS256","alg":"none"})", "h"));
  EXPECT_FALSE(parse_json_object(R"({"a":{"x":1,"x":2}})", "h"));
  EXPECT_FALSE(parse_json_object(R"([1,2])", "h"));
  EXPECT_FALSE(parse_json_object(R"({"a":1} trailing)", "h"));
  EXPECT_FALSE(parse_json_object("{\"a\":\"\xff\"}", "h"));
  EXPECT_FALSE(parse_json_object("", "h"));
}

TEST(JsonObject, RefusesNestingDeeperThanJoseNeedsWithoutRecursing) {
  const auto nested = [](int depth, char open, char close) {
    return "{\"a\":" + std::string(static_cast<std::size_t>(depth), open) +
           std::string(static_cast<std::size_t>(depth), close) + "}";
  };
  EXPECT_TRUE(parse_json_object(nested(max_json_depth - 1, '[', ']'), "h"));
  for (const auto& [open, close] : {std::pair{'[', ']'}, std::pair{'{', '}'}}) {
    // Objects nest as {"a":{"a":...}}: build them member by member.
    std::string deep;
    if (open == '{') {
      for (int i = 0; i < 100'000; ++i) deep += "{\"a\":";
      deep += "1";
      deep += std::string(100'000, '}');
    } else {
      deep = nested(100'000, open, close);
    }
    auto parsed = parse_json_object(deep, "protected header");
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, make_error_code(errc::bad_format));
    EXPECT_NE(parsed.error().detail.find("nested deeper"), std::string::npos) << parsed.error().detail;
  }
  EXPECT_FALSE(parse_json_object(nested(max_json_depth + 1, '[', ']'), "h"));
}

TEST(Utf8, AcceptsValidTextAndRefusesMalformedSequences) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(
      is_valid_utf8("Gr\xc3\xbc\xc3\x9f"
                    "e \xe2\x80\x94 \xf0\x9f\x94\x90"));
  for (const char* bad :
       {"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc3", "\x80", "\xff", "ab\xe2\x80"}) {
    EXPECT_FALSE(is_valid_utf8(bad)) << bad;
  }
}

}  // namespace
}  // namespace danemq::jose::detail
