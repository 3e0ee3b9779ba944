#include "danemq/identity/tlsa_record.hpp"

namespace danemq::identity {

std::string tlsa_record::to_string() const {
  return std::to_string(usage) + " " + std::to_string(selector) + " " + std::to_string(matching) + " " +
         crypto::to_hex(data);
}

result<crypto::bytes> association_data(const X509& cert, std::uint8_t selector, std::uint8_t matching) {
  crypto::bytes selected;
  switch (selector) {
    case tlsa::full_certificate: selected = crypto::certificate_der(cert); break;
    case tlsa::subject_public_key_info: selected = crypto::public_key_der(cert); break;
    default: return fail(errc::bad_tlsa_parameters, "selector " + std::to_string(selector) + " (expected 0 or 1)");
  }
  switch (matching) {
    case tlsa::exact: return selected;
    case tlsa::sha2_256: return crypto::sha256(selected);
    case tlsa::sha2_512: return crypto::sha512(selected);
    default:
      return fail(errc::bad_tlsa_parameters, "matching type " + std::to_string(matching) + " (expected 0, 1 or 2)");
  }
}

result<tlsa_record> make_tlsa_record(const X509& cert, std::uint8_t usage, std::uint8_t selector,
                                     std::uint8_t matching) {
  if (usage > tlsa::pkix_cd) {
    return fail(errc::bad_tlsa_parameters, "usage " + std::to_string(usage) + " (expected 0 to 4)");
  }
  auto data = association_data(cert, selector, matching);
  if (!data) return data.error();
  return tlsa_record{usage, selector, matching, std::move(data).value()};
}

std::string zone_file_line(std::string_view name, const tlsa_record& record, unsigned ttl) {
  std::string owner(name);
  if (owner.empty() || owner.back() != '.') owner.push_back('.');
  return owner + " " + std::to_string(ttl) + " IN TLSA " + record.to_string();
}

}  // namespace danemq::identity
