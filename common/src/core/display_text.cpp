#include "danemq/core/display_text.hpp"

#include <cstdint>
#include <optional>

namespace danemq::core {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

/// The code point of the well-formed UTF-8 sequence at the start of `text`
/// and its length, or nothing (overlong forms, surrogates and values above
/// U+10FFFF are not well formed).
struct decoded {
  char32_t code_point;
  std::size_t length;
};

std::optional<decoded> decode_utf8(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
  const std::uint8_t lead = byte(0);
  std::size_t length = 0;
  char32_t code_point = 0;
  char32_t minimum = 0;
  if (lead < 0x80) return decoded{lead, 1};
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2, code_point = lead & 0x1fU, minimum = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3, code_point = lead & 0x0fU, minimum = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4, code_point = lead & 0x07U, minimum = 0x10000;
  } else {
    return std::nullopt;
  }
  if (text.size() < length) return std::nullopt;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0U) != 0x80U) return std::nullopt;
    code_point = (code_point << 6U) | (byte(i) & 0x3fU);
  }
  if (code_point < minimum || code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff)) {
    return std::nullopt;
  }
  return decoded{code_point, length};
}

/// C1 controls, the line and paragraph separators, and the controls that
/// reorder text on screen (Unicode's Bidi_Control property).
bool hidden_format_control(char32_t code_point) {
  return (code_point >= 0x80 && code_point <= 0x9f) || code_point == 0x2028 || code_point == 0x2029 ||
         code_point == 0x061c || code_point == 0x200e || code_point == 0x200f ||
         (code_point >= 0x202a && code_point <= 0x202e) || (code_point >= 0x2066 && code_point <= 0x2069);
}

void append_byte_escape(std::string& out, std::uint8_t byte) {
  out += "\\x";
  out += hex_digits[byte >> 4U];
  out += hex_digits[byte & 0x0fU];
}

void append_code_point_escape(std::string& out, char32_t code_point) {
  out += "\\u{";
  for (int shift = 12; shift >= 0; shift -= 4) out += hex_digits[(code_point >> static_cast<unsigned>(shift)) & 0x0fU];
  out += '}';
}

}  // namespace

std::string escape_for_display(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const auto next = decode_utf8(text);
    if (!next) {
      append_byte_escape(out, static_cast<std::uint8_t>(text.front()));
      text.remove_prefix(1);
      continue;
    }
    const char32_t code_point = next->code_point;
    switch (code_point) {
      case U'\n': out += "\\n"; break;
      case U'\r': out += "\\r"; break;
      case U'\t': out += "\\t"; break;
      case U'\\': out += "\\\\"; break;
      default:
        if (code_point < 0x20 || code_point == 0x7f) {
          append_byte_escape(out, static_cast<std::uint8_t>(code_point));
        } else if (hidden_format_control(code_point)) {
          append_code_point_escape(out, code_point);
        } else {
          out.append(text.substr(0, next->length));
        }
    }
    text.remove_prefix(next->length);
  }
  return out;
}

}  // namespace danemq::core
