#include "danemq/dane/tlsa_rdata.hpp"

#include <algorithm>

#include "danemq/identity/key.hpp"

namespace danemq::dane {
namespace {

constexpr std::size_t sha256_size = 32;
constexpr std::size_t sha512_size = 64;

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/// Reads one decimal field of at most three digits (0..255).
result<std::uint8_t> small_number(std::string_view text, std::string_view field) {
  if (text.empty() || text.size() > 3)
    return fail(errc::malformed_record, std::string(field) + " is not a number 0-255");
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return fail(errc::malformed_record, std::string(field) + " is not a number 0-255");
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 255) return fail(errc::malformed_record, std::string(field) + " is above 255");
  return static_cast<std::uint8_t>(value);
}

}  // namespace

result<identity::tlsa_record> tlsa_from_rdata(std::span<const std::uint8_t> rdata) {
  if (rdata.size() < 4) {
    return fail(errc::malformed_record,
                "TLSA RDATA of " + std::to_string(rdata.size()) + " octets (at least 4 expected)");
  }
  identity::tlsa_record record;
  record.usage = rdata[0];
  record.selector = rdata[1];
  record.matching = rdata[2];
  record.data.assign(rdata.begin() + 3, rdata.end());
  return record;
}

crypto::bytes tlsa_to_rdata(const identity::tlsa_record& record) {
  // Sized once, then filled: growing a 3-byte vector by insert() trips a
  // g++ 12 -Warray-bounds false positive at -O2.
  crypto::bytes rdata(3 + record.data.size());
  rdata[0] = record.usage;
  rdata[1] = record.selector;
  rdata[2] = record.matching;
  std::copy(record.data.begin(), record.data.end(), rdata.begin() + 3);
  return rdata;
}

result<identity::tlsa_record> tlsa_from_text(std::string_view text) {
  std::vector<std::string_view> fields;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && is_blank(text[pos])) ++pos;
    const std::size_t start = pos;
    while (pos < text.size() && !is_blank(text[pos])) ++pos;
    if (pos > start) fields.push_back(text.substr(start, pos - start));
  }
  if (fields.size() < 4) return fail(errc::malformed_record, "expected \"usage selector matching hex\"");
  auto usage = small_number(fields[0], "usage");
  if (!usage) return usage.error();
  auto selector = small_number(fields[1], "selector");
  if (!selector) return selector.error();
  auto matching = small_number(fields[2], "matching type");
  if (!matching) return matching.error();
  std::string hex;
  for (std::size_t i = 3; i < fields.size(); ++i) hex.append(fields[i]);
  auto data = crypto::from_hex(hex);
  if (!data) return fail(errc::malformed_record, "association data is not hex");
  if (data->empty()) return fail(errc::malformed_record, "empty association data");
  return identity::tlsa_record{*usage, *selector, *matching, std::move(data).value()};
}

result<checked_tlsa> check_tlsa_record(const identity::tlsa_record& record) {
  if (record.usage > identity::tlsa::pkix_cd) {
    return fail(errc::malformed_record, "usage " + std::to_string(record.usage) + " (expected 0 to 4)");
  }
  if (record.selector > identity::tlsa::subject_public_key_info) {
    return fail(errc::malformed_record, "selector " + std::to_string(record.selector) + " (expected 0 or 1)");
  }
  checked_tlsa checked{record, nullptr, nullptr};
  switch (record.matching) {
    case identity::tlsa::sha2_256:
      if (record.data.size() != sha256_size) {
        return fail(errc::malformed_record,
                    "SHA-256 association data of " + std::to_string(record.data.size()) + " octets (32 expected)");
      }
      return checked;
    case identity::tlsa::sha2_512:
      if (record.data.size() != sha512_size) {
        return fail(errc::malformed_record,
                    "SHA-512 association data of " + std::to_string(record.data.size()) + " octets (64 expected)");
      }
      return checked;
    case identity::tlsa::exact: break;
    default:
      return fail(errc::malformed_record, "matching type " + std::to_string(record.matching) + " (expected 0, 1 or 2)");
  }
  if (record.selector == identity::tlsa::full_certificate) {
    auto cert = crypto::certificate_from_der(record.data);
    if (!cert)
      return fail(errc::malformed_record, "association data is not a DER certificate (" + cert.error().detail + ")");
    checked.public_key.reset(X509_get_pubkey(cert->get()));
    if (!checked.public_key) return fail(errc::malformed_record, "the certificate's public key cannot be read");
    checked.certificate = std::move(cert).value();
  } else {
    auto key = crypto::public_key_from_der(record.data);
    if (!key) {
      return fail(errc::malformed_record,
                  "association data is not a DER SubjectPublicKeyInfo (" + key.error().detail + ")");
    }
    checked.public_key = std::move(key).value();
  }
  if (auto acceptable = identity::check_acceptable_key(*checked.public_key); !acceptable) {
    return fail(errc::unsupported_record, "key not accepted: " + acceptable.error().detail);
  }
  return checked;
}

std::string describe_record(const identity::tlsa_record& record) {
  return std::to_string(record.usage) + " " + std::to_string(record.selector) + " " + std::to_string(record.matching) +
         " (" + usage_name(record.usage) + ", " + std::to_string(record.data.size()) + " octets)";
}

std::string usage_name(std::uint8_t usage) {
  switch (usage) {
    case identity::tlsa::pkix_ta: return "PKIX-TA";
    case identity::tlsa::pkix_ee: return "PKIX-EE";
    case identity::tlsa::dane_ta: return "DANE-TA";
    case identity::tlsa::dane_ee: return "DANE-EE";
    case identity::tlsa::pkix_cd: return "PKIX-CD";
    default: return "usage " + std::to_string(usage);
  }
}

}  // namespace danemq::dane
