#include "danemq/jose/dns_uri.hpp"

#include <algorithm>
#include <cctype>

#include "danemq/identity/dns_name.hpp"
#include "encoding.hpp"

namespace danemq::jose {
namespace {

constexpr std::string_view scheme = "dns:";
constexpr std::string_view tlsa_query = "?type=tlsa";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

/// RFC 4501's dnsauthority, host [":" port], as far as a resolver hint goes:
/// a name, an IPv4 address or a bracketed IPv6 literal, and a port. Nothing
/// that would end the authority for a URI parser ('?', '#') or encode ('%').
bool is_authority(std::string_view authority) {
  return std::all_of(authority.begin(), authority.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_' || c == ':' ||
           c == '[' || c == ']';
  });
}

result<std::string> canonical(std::string_view name, std::string_view uri) {
  auto canonical_name = identity::canonical_dns_name(name);
  if (!canonical_name) {
    return fail(errc::bad_format, "DNS URI " + detail::quoted_for_log(uri, 300) + ": " +
                                      detail::printable_for_log(canonical_name.error().detail));
  }
  return std::move(canonical_name).value();
}

}  // namespace

std::string dns_uri(std::string_view name) {
  return "dns:" + std::string(name) + "?type=TLSA";
}

std::string original_dns_uri(std::string_view name) {
  return "dns://" + std::string(name) + "?type=TLSA";
}

result<std::string> name_from_dns_uri(std::string_view uri) {
  const auto refuse = [&](const char* why) {
    return fail(errc::bad_format, "DNS URI " + detail::quoted_for_log(uri, 300) + ": " + why);
  };
  if (uri.size() < scheme.size() + tlsa_query.size() || !iequals(uri.substr(0, scheme.size()), scheme)) {
    return refuse("not a dns: URI");
  }
  if (!iequals(uri.substr(uri.size() - tlsa_query.size()), tlsa_query)) return refuse("does not end in ?type=TLSA");
  std::string_view rest = uri.substr(scheme.size(), uri.size() - scheme.size() - tlsa_query.size());
  if (rest.substr(0, 2) == "//") {
    rest.remove_prefix(2);
    // "dns://name" (the original's) or "dns://authority/name".
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
      if (!is_authority(rest.substr(0, slash))) return refuse("the authority is not a host[:port]");
      rest.remove_prefix(slash + 1);
    }
  }
  if (rest.find_first_of("/?;%") != std::string_view::npos) return refuse("unexpected characters in the name");
  return canonical(rest, uri);
}

result<std::string> name_from_audience(std::string_view aud) {
  if (aud.size() >= scheme.size() && iequals(aud.substr(0, scheme.size()), scheme)) return name_from_dns_uri(aud);
  return canonical(aud, aud);
}

}  // namespace danemq::jose
