#include "encoding.hpp"

#include <cjose/base64.h>

#include <algorithm>
#include <vector>

#include "cjose_handles.hpp"
#include "danemq/jose/errors.hpp"

namespace danemq::jose::detail {
namespace {

constexpr std::string_view base64url_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool is_base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

std::string base64url_encode(std::span<const std::uint8_t> data) {
  char* encoded = nullptr;
  std::size_t length = 0;
  cjose_err err{};
  if (!cjose_base64url_encode(data.data(), data.size(), &encoded, &length, &err)) throw std::bad_alloc();
  const unique_cjose_text owner(encoded);
  return {encoded, length};
}

std::string base64url_encode(std::string_view data) {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): bytes of the text
  return base64url_encode(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
}

result<std::size_t> base64url_checked_size(std::string_view text, std::string_view what) {
  if (!std::all_of(text.begin(), text.end(), is_base64url_char)) {
    return fail(errc::bad_format, std::string(what) + ": not base64url");
  }
  const std::size_t rest = text.size() % 4;
  if (rest == 1) return fail(errc::bad_format, std::string(what) + ": base64url of impossible length");
  // The unused low bits of the last character must be zero: otherwise two
  // texts would carry the same bytes.
  if (rest != 0) {
    const auto value = static_cast<unsigned>(base64url_alphabet.find(text.back()));
    if ((value & (rest == 2 ? 0x0fU : 0x03U)) != 0) {
      return fail(errc::bad_format, std::string(what) + ": non-canonical base64url");
    }
  }
  return text.size() / 4 * 3 + (rest == 0 ? 0 : rest - 1);
}

result<crypto::bytes> base64url_decode(std::string_view text, std::string_view what) {
  if (auto checked = base64url_checked_size(text, what); !checked) return checked.error();
  std::uint8_t* decoded = nullptr;
  std::size_t length = 0;
  cjose_err err{};
  if (!cjose_base64url_decode(text.data(), text.size(), &decoded, &length, &err)) {
    return fail(errc::bad_format, std::string(what) + ": not base64url (" + describe(err) + ")");
  }
  const unique_cjose_bytes owner(decoded);
  return crypto::bytes(decoded, decoded + length);
}

result<std::string> base64url_decode_text(std::string_view text, std::string_view what) {
  auto decoded = base64url_decode(text, what);
  if (!decoded) return decoded.error();
  return std::string(decoded->begin(), decoded->end());
}

result<nlohmann::json> parse_json_object(std::string_view text, std::string_view what) {
  // The member names of each object being parsed, innermost last (headers
  // have a handful of members: a linear search beats a set).
  std::vector<std::vector<std::string>> open_objects;
  bool duplicate = false;
  bool too_deep = false;
  const nlohmann::json::parser_callback_t watch_members = [&](int depth, nlohmann::json::parse_event_t event,
                                                              nlohmann::json& parsed) {
    // Deeper values are not even built (false discards them), so nothing
    // later walks a deep tree recursively (dump(), comparisons) and runs out
    // of stack; the parse itself keeps its own stack on the heap.
    if (depth > max_json_depth) {
      too_deep = true;
      return false;
    }
    switch (event) {
      case nlohmann::json::parse_event_t::object_start: open_objects.emplace_back(); break;
      case nlohmann::json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case nlohmann::json::parse_event_t::key: {
        if (open_objects.empty()) break;
        auto& names = open_objects.back();
        const auto& name = parsed.get_ref<const std::string&>();
        if (std::find(names.begin(), names.end(), name) != names.end()) duplicate = true;
        names.push_back(name);
        break;
      }
      default: break;
    }
    return true;
  };
  auto json = nlohmann::json::parse(text.begin(), text.end(), watch_members, /*allow_exceptions=*/false);
  if (too_deep) {
    return fail(errc::bad_format,
                std::string(what) + ": nested deeper than " + std::to_string(max_json_depth) + " levels");
  }
  if (json.is_discarded()) return fail(errc::bad_format, std::string(what) + ": not valid JSON");
  if (duplicate) return fail(errc::bad_format, std::string(what) + ": a member appears twice");
  if (!json.is_object()) return fail(errc::bad_format, std::string(what) + ": not a JSON object");
  return json;
}

std::string printable_for_log(std::string_view text, std::size_t limit) {
  std::string out;
  out.reserve(std::min(text.size(), limit) + 3);
  for (const char c : text.substr(0, limit)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (text.size() > limit) out += "...";
  return out;
}

std::string quoted_for_log(std::string_view text, std::size_t limit) {
  return '\'' + printable_for_log(text, limit) + '\'';
}

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    std::uint32_t code = 0;
    std::uint32_t minimum = 0;
    if (byte < 0x80) {
      ++i;
      continue;
    }
    if ((byte & 0xe0) == 0xc0) {
      extra = 1, code = byte & 0x1f, minimum = 0x80;
    } else if ((byte & 0xf0) == 0xe0) {
      extra = 2, code = byte & 0x0f, minimum = 0x800;
    } else if ((byte & 0xf8) == 0xf0) {
      extra = 3, code = byte & 0x07, minimum = 0x10000;
    } else {
      return false;
    }
    if (extra > text.size() - i - 1) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < minimum || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace danemq::jose::detail
