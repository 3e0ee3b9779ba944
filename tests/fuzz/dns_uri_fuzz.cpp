// libFuzzer target for the RFC 4501 DNS URI parser: what a JWE/JWS `x5u` and a
// v2 `aud` claim carry, chosen by whoever wrote the message. Every input goes
// through name_from_dns_uri, name_from_audience and canonical_dns_name.
// Nothing may crash, leak or hit UB, and:
//   - an accepted URI yields a canonical name, which the writers turn back into
//     URIs that read back as the same name;
//   - an accepted URI carries exactly one '?' (its "?type=TLSA") and no '#' or
//     '%': nothing hides a second query or a fragment;
//   - every refusal is a jose bad_format whose text is printable and bounded
//     (it is logged and quarantined).
//   build/fuzz/bin/dns_uri_fuzz tests/fuzz/corpus/dns_uri -max_total_time=60

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "danemq/identity/dns_name.hpp"
#include "danemq/jose/dns_uri.hpp"

namespace {

using namespace danemq;

void check_refusal(const failure& error) {
  if (error.code != make_error_code(jose::errc::bad_format)) std::abort();
  // The detail quotes at most 300 bytes of the input, plus the reason.
  if (error.detail.size() > 1024) std::abort();
  if (!std::all_of(error.detail.begin(), error.detail.end(), [](char c) { return c >= 0x20 && c < 0x7f; })) {
    std::abort();
  }
}

void check_name(const std::string& name) {
  auto again = identity::canonical_dns_name(name);
  if (!again || *again != name) std::abort();
  for (const auto& uri : {jose::dns_uri(name), jose::original_dns_uri(name)}) {
    auto read = jose::name_from_dns_uri(uri);
    if (!read || *read != name) std::abort();
    auto audience = jose::name_from_audience(uri);
    if (!audience || *audience != name) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto name = jose::name_from_dns_uri(input)) {
    check_name(*name);
    if (std::count(input.begin(), input.end(), '?') != 1) std::abort();
    if (input.find_first_of("#%") != std::string_view::npos) std::abort();
  } else {
    check_refusal(name.error());
  }

  if (auto audience = jose::name_from_audience(input)) {
    check_name(*audience);
  } else {
    check_refusal(audience.error());
  }

  if (auto canonical = identity::canonical_dns_name(input)) {
    check_name(*canonical);
    if (canonical->size() > 253) std::abort();
  }
  return 0;
}
