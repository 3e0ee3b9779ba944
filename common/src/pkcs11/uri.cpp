#include "danemq/pkcs11/uri.hpp"

#include <cctype>

namespace danemq::pkcs11 {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

result<std::string> percent_decoded(std::string_view text, std::string_view attribute) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) {
      return fail(errc::bad_uri, "attribute '" + std::string(attribute) + "': truncated percent-encoding");
    }
    const int high = hex_value(text[i + 1]);
    const int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) {
      return fail(errc::bad_uri, "attribute '" + std::string(attribute) + "': bad percent-encoding");
    }
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

bool is_unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '[' || c == ']' ||
         c == '@' || c == '!' || c == '$' || c == '\'' || c == '(' || c == ')' || c == '*' || c == '+' || c == ',' ||
         c == '=' || c == '&';
}

std::string percent_encoded(std::string_view text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (is_unreserved(byte)) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(digits[byte >> 4]);
      out.push_back(digits[byte & 0x0f]);
    }
  }
  return out;
}

}  // namespace

result<uri> parse_uri(std::string_view text) {
  constexpr std::string_view scheme = "pkcs11:";
  if (text.substr(0, scheme.size()) != scheme) return fail(errc::bad_uri, "does not begin with 'pkcs11:'");
  text.remove_prefix(scheme.size());
  std::string_view query;
  if (const auto mark = text.find('?'); mark != std::string_view::npos) {
    query = text.substr(mark + 1);
    text = text.substr(0, mark);
  }
  uri out;
  while (!text.empty()) {
    const auto end = text.find(';');
    const auto attribute = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (attribute.empty()) continue;
    const auto equals = attribute.find('=');
    if (equals == std::string_view::npos) {
      return fail(errc::bad_uri, "attribute '" + std::string(attribute) + "' has no value");
    }
    const auto name = attribute.substr(0, equals);
    auto value = percent_decoded(attribute.substr(equals + 1), name);
    if (!value) return value.error();
    std::optional<std::string>* slot = nullptr;
    if (name == "token") {
      slot = &out.token;
    } else if (name == "manufacturer") {
      slot = &out.manufacturer;
    } else if (name == "serial") {
      slot = &out.serial;
    } else if (name == "model") {
      slot = &out.model;
    } else if (name == "object") {
      slot = &out.object;
    } else if (name == "type") {
      slot = &out.type;
    } else if (name == "id") {
      if (out.id) return fail(errc::bad_uri, "attribute 'id' appears twice");
      out.id.emplace(value->begin(), value->end());
      continue;
    } else if (name == "pin-value" || name == "pin-source") {
      return fail(errc::bad_uri, "the PIN does not belong in the URI ('" + std::string(name) +
                                     "'): put it in the file named by PKCS11_PIN_FILE");
    } else if (name == "library-manufacturer" || name == "library-description" || name == "library-version" ||
               name == "slot-manufacturer" || name == "slot-description" || name == "slot-id") {
      continue;  // RFC 7512 attributes of the library and slot: PKCS11_MODULE chooses the library
    } else {
      return fail(errc::bad_uri, "unknown attribute '" + std::string(name) + "'");
    }
    if (slot->has_value()) return fail(errc::bad_uri, "attribute '" + std::string(name) + "' appears twice");
    *slot = std::move(value).value();
  }
  while (!query.empty()) {
    const auto end = query.find('&');
    const auto attribute = query.substr(0, end);
    query = end == std::string_view::npos ? std::string_view{} : query.substr(end + 1);
    const auto name = attribute.substr(0, attribute.find('='));
    if (name == "pin-value" || name == "pin-source") {
      return fail(errc::bad_uri, "the PIN does not belong in the URI ('" + std::string(name) +
                                     "'): put it in the file named by PKCS11_PIN_FILE");
    }
    if (name != "module-path" && name != "module-name" && !name.empty()) {
      return fail(errc::bad_uri, "unknown query attribute '" + std::string(name) + "'");
    }
  }
  if (!out.object && !out.id) return fail(errc::bad_uri, "names no key ('object' or 'id')");
  if (out.type && *out.type != "private") {
    return fail(errc::bad_uri, "type '" + *out.type + "': an identity key is a private key (type=private)");
  }
  return out;
}

std::string to_string(const uri& key) {
  std::string out = "pkcs11:";
  bool first = true;
  auto add = [&](std::string_view name, std::string_view value) {
    if (!first) out.push_back(';');
    first = false;
    out.append(name).append("=").append(percent_encoded(value));
  };
  if (key.token) add("token", *key.token);
  if (key.manufacturer) add("manufacturer", *key.manufacturer);
  if (key.serial) add("serial", *key.serial);
  if (key.model) add("model", *key.model);
  if (key.object) add("object", *key.object);
  if (key.id) add("id", std::string(key.id->begin(), key.id->end()));
  if (key.type) add("type", *key.type);
  return out;
}

}  // namespace danemq::pkcs11
