#include "danemq/identity/dns_name.hpp"

#include <cctype>

namespace danemq::identity {
namespace {

bool is_label_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
}

}  // namespace

result<std::string> canonical_dns_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return fail(errc::bad_dns_name, "empty name");
  if (name.size() > 253) {
    return fail(errc::bad_dns_name, "name is " + std::to_string(name.size()) + " octets long, more than 253");
  }
  std::string canonical;
  canonical.reserve(name.size());
  std::size_t label_start = 0;
  while (label_start <= name.size()) {
    const auto dot = name.find('.', label_start);
    const auto label = name.substr(label_start, dot == std::string_view::npos ? name.npos : dot - label_start);
    const std::string shown(label);
    if (label.empty()) return fail(errc::bad_dns_name, "empty label in '" + std::string(name) + "'");
    if (label.size() > 63) {
      return fail(errc::bad_dns_name, "label '" + shown.substr(0, 20) + "...' is " + std::to_string(label.size()) +
                                          " octets long, more than 63");
    }
    for (const char c : label) {
      if (!is_label_char(c)) {
        return fail(errc::bad_dns_name,
                    "label '" + shown + "' contains a character other than letters, digits, '-' and '_'");
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return fail(errc::bad_dns_name, "label '" + shown + "' starts or ends with '-'");
    }
    if (!canonical.empty()) canonical.push_back('.');
    for (const char c : label) canonical.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (dot == std::string_view::npos) break;
    label_start = dot + 1;
  }
  return canonical;
}

}  // namespace danemq::identity
