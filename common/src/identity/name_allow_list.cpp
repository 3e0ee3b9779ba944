#include "danemq/identity/name_allow_list.hpp"

#include <algorithm>

#include "danemq/identity/dns_name.hpp"

namespace danemq::identity {
namespace {

std::string_view trimmed(std::string_view text) {
  constexpr std::string_view blanks = " \t";
  const auto first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

}  // namespace

result<name_allow_list> name_allow_list::parse(std::string_view list) {
  name_allow_list parsed;
  if (trimmed(list).empty()) return parsed;
  std::size_t start = 0;
  while (start <= list.size()) {
    const auto comma = std::min(list.find(',', start), list.size());
    const std::string_view entry = trimmed(list.substr(start, comma - start));
    start = comma + 1;
    if (entry.empty()) return fail(errc::bad_dns_name, "allowed names: an empty entry between commas");
    const bool pattern = entry.starts_with("*.");
    const std::string_view name = pattern ? entry.substr(2) : entry;
    if (name.find('*') != std::string_view::npos) {
      return fail(errc::bad_dns_name,
                  "allowed names: '" + std::string(entry) + "': '*' only as the whole first label ('*.zone')");
    }
    auto canonical = canonical_dns_name(name);
    if (!canonical) {
      return fail(errc::bad_dns_name, "allowed names: '" + std::string(entry) + "': " + canonical.error().detail);
    }
    (pattern ? parsed.zones_ : parsed.exact_names_).push_back(std::move(canonical).value());
  }
  return parsed;
}

bool name_allow_list::allows(std::string_view canonical_name) const {
  if (allows_anyone()) return true;
  if (std::find(exact_names_.begin(), exact_names_.end(), canonical_name) != exact_names_.end()) return true;
  return std::any_of(zones_.begin(), zones_.end(), [&](const std::string& zone) {
    return canonical_name.size() > zone.size() + 1 && canonical_name.ends_with(zone) &&
           canonical_name[canonical_name.size() - zone.size() - 1] == '.';
  });
}

std::string name_allow_list::to_string() const {
  std::string out;
  for (const auto& name : exact_names_) out += (out.empty() ? "" : ",") + name;
  for (const auto& zone : zones_) out += (out.empty() ? "*." : ",*.") + zone;
  return out;
}

}  // namespace danemq::identity
