#include "json_serialization.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include "encoding.hpp"

namespace danemq::jose::detail {
namespace {

std::vector<std::string_view> split_on_dots(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const auto dot = text.find('.', start);
    parts.push_back(text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/// The envelopes danemq, cjose and jwcrypto write are one JSON object whose
/// members are plain names holding base64url strings. Those are read here in
/// one pass, several times faster than a general JSON parser; anything
/// outside that subset (a nested object, an escape, another value type, a
/// member twice, a syntax error) gives nullopt and goes to the full parser,
/// which accepts or refuses it by the JSON rules.
std::optional<std::vector<json_member>> scan_plain_envelope(std::string_view text) {
  std::size_t at = 0;
  const auto skip_space = [&] {
    while (at < text.size() && is_json_space(text[at])) ++at;
  };
  const auto expect = [&](char c) {
    skip_space();
    if (at >= text.size() || text[at] != c) return false;
    ++at;
    return true;
  };
  /// A quoted run of characters accepted by `allowed`, without its quotes.
  const auto quoted = [&](bool (*allowed)(char)) -> std::optional<std::string_view> {
    if (!expect('"')) return std::nullopt;
    const std::size_t start = at;
    while (at < text.size() && allowed(text[at])) ++at;
    if (at >= text.size() || text[at] != '"') return std::nullopt;
    return text.substr(start, at++ - start);
  };
  std::vector<json_member> members;
  if (!expect('{')) return std::nullopt;
  skip_space();
  if (at < text.size() && text[at] == '}') {
    ++at;
  } else {
    while (true) {
      const auto name = quoted([](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
      if (!name || !expect(':')) return std::nullopt;
      const auto value = quoted(is_base64url_char);
      if (!value) return std::nullopt;
      for (const auto& member : members) {
        if (member.name == *name) return std::nullopt;
      }
      members.push_back({std::string(*name), json_member::kind::string, std::string(*value)});
      if (expect(',')) continue;
      if (!expect('}')) return std::nullopt;
      break;
    }
  }
  skip_space();
  if (at != text.size()) return std::nullopt;
  return members;
}

/// JSON serialization when the first non-blank character opens an object;
/// compact otherwise (which has no blanks at all).
bool looks_like_json(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{';
}

bool has_member(const std::vector<json_member>& members, std::string_view name) {
  return std::any_of(members.begin(), members.end(), [&](const json_member& member) { return member.name == name; });
}

}  // namespace

result<std::vector<json_member>> read_members(std::string_view text, std::string_view what) {
  if (auto plain = scan_plain_envelope(text)) return std::move(plain).value();
  auto object = parse_json_object(text, what);
  if (!object) return object.error();
  std::vector<json_member> members;
  for (const auto& [name, value] : object->items()) {
    json_member member{name, json_member::kind::other, {}};
    if (value.is_string()) {
      member.type = json_member::kind::string;
      member.value = value.get<std::string>();
    } else if (value.is_object()) {
      member.type = json_member::kind::object;
      member.value = value.dump();
    }
    members.push_back(std::move(member));
  }
  return members;
}

result<void> take_string_members(const std::vector<json_member>& members, std::string_view what,
                                 std::initializer_list<std::pair<const char*, std::string*>> wanted,
                                 std::initializer_list<const char*> optional) {
  for (const auto& member : members) {
    bool known = false;
    for (const auto& [wanted_name, target] : wanted) {
      if (member.name != wanted_name) continue;
      if (member.type != json_member::kind::string) {
        return fail(errc::bad_format, std::string(what) + " member '" + member.name + "' is not a string");
      }
      *target = member.value;
      known = true;
    }
    if (!known) {
      return fail(errc::bad_format, std::string(what) + " has an unexpected member " + quoted_for_log(member.name));
    }
  }
  for (const auto& wanted_member : wanted) {
    // A plain variable: clang 14 cannot capture a structured binding.
    const std::string_view wanted_name = wanted_member.first;
    const bool present = std::any_of(members.begin(), members.end(),
                                     [&](const json_member& member) { return member.name == wanted_name; });
    const bool is_optional = std::any_of(optional.begin(), optional.end(),
                                         [&](const char* name) { return std::string_view(name) == wanted_name; });
    if (!present && !is_optional) {
      return fail(errc::bad_format, std::string(what) + " has no '" + std::string(wanted_name) + "'");
    }
  }
  return ok();
}

result<jws_parts> split_jws(std::string_view text) {
  jws_parts parts;
  if (looks_like_json(text)) {
    auto members = read_members(text, "JWS");
    if (!members) return members.error();
    if (has_member(*members, "signatures")) {
      return fail(errc::bad_format, "general JWS JSON serialization (several signatures) is not accepted");
    }
    if (has_member(*members, "header")) return fail(errc::bad_format, "unprotected JWS header is not accepted");
    auto taken = take_string_members(
        *members, "JWS",
        {{"payload", &parts.payload_b64}, {"protected", &parts.protected_b64}, {"signature", &parts.signature_b64}},
        {});
    if (!taken) return taken.error();
    parts.form = serialization::flattened_json;
    return parts;
  }
  const auto pieces = split_on_dots(text);
  if (pieces.size() != 3) {
    return fail(errc::bad_format, "compact JWS has " + std::to_string(pieces.size()) + " parts instead of 3");
  }
  parts.form = serialization::compact;
  parts.protected_b64 = pieces[0];
  parts.payload_b64 = pieces[1];
  parts.signature_b64 = pieces[2];
  return parts;
}

std::string join_jws(const jws_parts& parts, serialization form) {
  if (form == serialization::compact) return parts.protected_b64 + '.' + parts.payload_b64 + '.' + parts.signature_b64;
  return R"({"payload":")" + parts.payload_b64 + R"(","protected":")" + parts.protected_b64 + R"(","signature":")" +
         parts.signature_b64 + "\"}";
}

result<jwe_parts> split_jwe(std::string_view text) {
  jwe_parts parts;
  if (looks_like_json(text)) {
    auto members = read_members(text, "JWE");
    if (!members) return members.error();
    if (has_member(*members, "recipients")) {
      return fail(errc::bad_format, "general JWE JSON serialization (several recipients) is not accepted");
    }
    if (has_member(*members, "unprotected"))
      return fail(errc::bad_format, "shared unprotected JWE header is not accepted");
    if (has_member(*members, "aad")) return fail(errc::bad_format, "JWE additional authenticated data is not accepted");
    const auto header = std::find_if(members->begin(), members->end(),
                                     [](const json_member& member) { return member.name == "header"; });
    if (header != members->end()) {
      if (header->type != json_member::kind::object) {
        return fail(errc::bad_format, "JWE per-recipient header is not an object");
      }
      parts.recipient_header_json = header->value;
      members->erase(header);
    }
    auto taken = take_string_members(*members, "JWE",
                                     {{"protected", &parts.protected_b64},
                                      {"encrypted_key", &parts.encrypted_key_b64},
                                      {"iv", &parts.iv_b64},
                                      {"ciphertext", &parts.ciphertext_b64},
                                      {"tag", &parts.tag_b64}},
                                     {"encrypted_key"});
    if (!taken) return taken.error();
    parts.form = serialization::flattened_json;
    return parts;
  }
  const auto pieces = split_on_dots(text);
  if (pieces.size() != 5) {
    return fail(errc::bad_format, "compact JWE has " + std::to_string(pieces.size()) + " parts instead of 5");
  }
  parts.form = serialization::compact;
  parts.protected_b64 = pieces[0];
  parts.encrypted_key_b64 = pieces[1];
  parts.iv_b64 = pieces[2];
  parts.ciphertext_b64 = pieces[3];
  parts.tag_b64 = pieces[4];
  return parts;
}

std::string join_jwe(const jwe_parts& parts, serialization form) {
  if (form == serialization::compact) {
    return parts.protected_b64 + '.' + parts.encrypted_key_b64 + '.' + parts.iv_b64 + '.' + parts.ciphertext_b64 + '.' +
           parts.tag_b64;
  }
  std::string out = R"({"ciphertext":")" + parts.ciphertext_b64 + '"';
  if (!parts.encrypted_key_b64.empty()) out += R"(,"encrypted_key":")" + parts.encrypted_key_b64 + '"';
  out +=
      R"(,"iv":")" + parts.iv_b64 + R"(","protected":")" + parts.protected_b64 + R"(","tag":")" + parts.tag_b64 + "\"}";
  return out;
}

}  // namespace danemq::jose::detail
