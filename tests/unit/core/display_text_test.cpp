#include "danemq/core/display_text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using danemq::core::escape_for_display;

TEST(DisplayText, LeavesPrintableTextInAnyScriptAsItIs) {
  EXPECT_EQ(escape_for_display("HELLO THERE"), "HELLO THERE");
  EXPECT_EQ(escape_for_display("gr\xc3\xbc\xc3\x9f dich, \xe6\x97\xa5\xe6\x9c\xac, \xf0\x9f\x91\x8b"),
            "gr\xc3\xbc\xc3\x9f dich, \xe6\x97\xa5\xe6\x9c\xac, \xf0\x9f\x91\x8b");
  EXPECT_EQ(escape_for_display(""), "");
}

TEST(DisplayText, KeepsAForgedSecondLineOnTheFirst) {
  EXPECT_EQ(escape_for_display("hi\nbank._device.example.net says: pay"), "hi\\nbank._device.example.net says: pay");
}

TEST(DisplayText, EscapesNewlineReturnTabAndBackslashByName) {
  EXPECT_EQ(escape_for_display("a\nb\rc\td\\e"), "a\\nb\\rc\\td\\\\e");
  // A backslash is escaped, so a literal "\n" in the text cannot pass for an
  // escaped newline.
  EXPECT_EQ(escape_for_display("\\n"), "\\\\n");
}

TEST(DisplayText, EscapesOtherC0ControlsAndDeleteAsHexBytes) {
  EXPECT_EQ(escape_for_display("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
  EXPECT_EQ(escape_for_display(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(escape_for_display("\x07\x08\x0b\x0c\x1f\x7f"), "\\x07\\x08\\x0b\\x0c\\x1f\\x7f");
}

TEST(DisplayText, EscapesC1ControlsAsCodePoints) {
  EXPECT_EQ(escape_for_display("\xc2\x9b"
                               "31m"),
            "\\u{009b}31m");  // CSI
  EXPECT_EQ(escape_for_display("\xc2\x80\xc2\x9f"), "\\u{0080}\\u{009f}");
  EXPECT_EQ(escape_for_display("\xc2\xa0"), "\xc2\xa0");  // no-break space is printable
}

TEST(DisplayText, EscapesLineSeparatorsAndEveryBidirectionalControl) {
  EXPECT_EQ(escape_for_display("\xe2\x80\xa8\xe2\x80\xa9"), "\\u{2028}\\u{2029}");
  EXPECT_EQ(escape_for_display("\xd8\x9c"), "\\u{061c}");
  EXPECT_EQ(escape_for_display("\xe2\x80\x8e\xe2\x80\x8f"), "\\u{200e}\\u{200f}");
  for (char32_t c = 0x202a; c <= 0x202e; ++c) {
    const std::string encoded{'\xe2', '\x80', static_cast<char>(0x80 | (c & 0x3f))};
    const char last = "abcde"[c - 0x202a];
    EXPECT_EQ(escape_for_display(encoded), std::string("\\u{202") + last + "}");
  }
  for (char32_t c = 0x2066; c <= 0x2069; ++c) {
    const std::string encoded{'\xe2', '\x81', static_cast<char>(0x80 | (c & 0x3f))};
    EXPECT_EQ(escape_for_display(encoded), "\\u{206" + std::to_string(static_cast<int>(c - 0x2060)) + "}");
  }
  // A right-to-left override that would show "txt.exe" as "exe.txt".
  EXPECT_EQ(escape_for_display("report\xe2\x80\xaetxt.exe"), "report\\u{202e}txt.exe");
  // Neighbours of the escaped ranges are ordinary text.
  EXPECT_EQ(escape_for_display("\xe2\x80\x8d\xe2\x80\xaf\xe2\x81\xa5"), "\xe2\x80\x8d\xe2\x80\xaf\xe2\x81\xa5");
}

TEST(DisplayText, EscapesEachByteThatIsNotValidUtf8) {
  EXPECT_EQ(escape_for_display("a\xff"
                               "b"),
            "a\\xffb");
  EXPECT_EQ(escape_for_display("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(escape_for_display("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(escape_for_display("\xe2\x80"), "\\xe2\\x80");                    // truncated
  EXPECT_EQ(escape_for_display("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
}

TEST(DisplayText, OutputIsAlwaysOneLineOfPrintableAscii) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte += static_cast<char>(b);
  const std::string shown = escape_for_display(every_byte);
  for (const char c : shown) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(u >= 0x20 && u < 0x7f) << "byte " << static_cast<int>(u);
  }
}

}  // namespace
