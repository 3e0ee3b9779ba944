#include "danemq/dane/errors.hpp"

#include "danemq/core/error_category.hpp"
#include "danemq/dane/lookup_observer.hpp"

namespace danemq::dane {
namespace {

const char* describe(errc e) {
  switch (e) {
    case errc::ok: return "success";
    case errc::bad_name: return "invalid DNS name";
    case errc::nxdomain: return "name does not exist (NXDOMAIN)";
    case errc::nodata: return "no TLSA record at the name (NODATA)";
    case errc::servfail: return "resolver failure (SERVFAIL)";
    case errc::timeout: return "DNS timeout";
    case errc::malformed_answer: return "malformed DNS answer";
    case errc::network_error: return "cannot reach the resolver";
    case errc::insecure: return "answer is not DNSSEC-secure";
    case errc::bogus: return "DNSSEC validation failed (bogus)";
    case errc::no_usable_record: return "no usable TLSA record";
    case errc::no_match: return "no TLSA record matches the certificate";
    case errc::pkix_failed: return "PKIX validation failed";
    case errc::bad_configuration: return "invalid DANE configuration";
    case errc::update_failed: return "DNS update failed";
    case errc::malformed_record: return "malformed TLSA record";
    case errc::unsupported_record: return "unsupported TLSA record";
    case errc::lookup_throttled: return "lookup held back (zone failing or busy)";
  }
  return nullptr;
}

}  // namespace

const std::error_category& dane_category() noexcept {
  static const enum_error_category<errc> instance("dane", describe);
  return instance;
}

std::string_view outcome_name(std::error_code outcome) noexcept {
  if (!outcome) return "ok";
  if (outcome.category() != dane_category()) return "other";
  switch (static_cast<errc>(outcome.value())) {
    case errc::ok: return "ok";
    case errc::bad_name: return "bad_name";
    case errc::nxdomain: return "nxdomain";
    case errc::nodata: return "nodata";
    case errc::servfail: return "servfail";
    case errc::timeout: return "timeout";
    case errc::malformed_answer: return "malformed_answer";
    case errc::network_error: return "network_error";
    case errc::insecure: return "insecure";
    case errc::bogus: return "bogus";
    case errc::no_usable_record: return "no_usable_record";
    case errc::no_match: return "no_match";
    case errc::pkix_failed: return "pkix_failed";
    case errc::bad_configuration: return "bad_configuration";
    case errc::update_failed: return "update_failed";
    case errc::malformed_record: return "malformed_record";
    case errc::unsupported_record: return "unsupported_record";
    case errc::lookup_throttled: return "lookup_throttled";
  }
  return "other";
}

}  // namespace danemq::dane
