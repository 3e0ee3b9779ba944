#include "danemq/identity/certificate.hpp"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "danemq/core/utc_time.hpp"

namespace danemq::identity {
namespace {

using crypto::unique_x509;
using crypto::unique_x509_req;

struct x509_name_deleter {
  void operator()(X509_NAME* p) const noexcept { X509_NAME_free(p); }
};
using unique_x509_name = std::unique_ptr<X509_NAME, x509_name_deleter>;
struct x509_extension_stack_deleter {
  void operator()(STACK_OF(X509_EXTENSION) * p) const noexcept { sk_X509_EXTENSION_pop_free(p, X509_EXTENSION_free); }
};
using unique_extension_stack = std::unique_ptr<STACK_OF(X509_EXTENSION), x509_extension_stack_deleter>;
struct x509_extension_deleter {
  void operator()(X509_EXTENSION* p) const noexcept { X509_EXTENSION_free(p); }
};
using unique_extension = std::unique_ptr<X509_EXTENSION, x509_extension_deleter>;

failure certificate_error(std::string_view what) {
  return fail(errc::certificate_failed, std::string(what) + ": " + crypto::drain_openssl_errors());
}

result<unique_x509_name> make_subject(std::string_view name, const subject_fields& subject) {
  unique_x509_name out(X509_NAME_new());
  const std::pair<const char*, std::string_view> entries[] = {
      {"C", subject.country}, {"ST", subject.state}, {"L", subject.locality}, {"O", subject.organization}, {"CN", name},
  };
  for (const auto& [field, value] : entries) {
    if (value.empty()) continue;
    if (X509_NAME_add_entry_by_txt(out.get(), field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()), static_cast<int>(value.size()),
                                   -1, 0) != 1) {
      return certificate_error(std::string("subject field ") + field + " '" + std::string(value) + "'");
    }
  }
  return out;
}

result<unique_extension> make_extension(X509V3_CTX& context, int nid, const std::string& value) {
  unique_extension extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()));
  if (!extension) return certificate_error(std::string("extension ") + OBJ_nid2sn(nid));
  return extension;
}

/// Not through timegm: time_t ends in 2038 on 32-bit ARM (core/utc_time.hpp).
std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* time) {
  std::tm parsed{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parsed) != 1) return {};
  const auto seconds = core::utc_seconds(parsed);
  return seconds ? core::saturating_time_point(*seconds) : std::chrono::system_clock::time_point{};
}

}  // namespace

result<crypto::unique_x509> make_self_signed_certificate(EVP_PKEY& key, std::string_view name,
                                                         const subject_fields& subject, std::chrono::days validity) {
  unique_x509 cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return certificate_error("new certificate");

  // A random positive serial of 159 bits (RFC 5280 allows up to 20 octets).
  crypto::unique_bignum serial(BN_new());
  if (!serial || BN_rand(serial.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return certificate_error("serial number");
  }
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(validity.count()), 0, nullptr) == nullptr) {
    return certificate_error("validity");
  }
  auto subject_name = make_subject(name, subject);
  if (!subject_name) return subject_name.error();
  if (X509_set_subject_name(cert.get(), subject_name->get()) != 1 ||
      X509_set_issuer_name(cert.get(), subject_name->get()) != 1 || X509_set_pubkey(cert.get(), &key) != 1) {
    return certificate_error("subject, issuer or public key");
  }

  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::pair<int, std::string> extensions[] = {
      {NID_subject_alt_name, "DNS:" + std::string(name)},
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature,keyEncipherment,keyAgreement"},
      {NID_subject_key_identifier, "hash"},
  };
  for (const auto& [nid, value] : extensions) {
    auto extension = make_extension(context, nid, value);
    if (!extension) return extension.error();
    if (X509_add_ext(cert.get(), extension->get(), -1) != 1) return certificate_error("adding extension");
  }
  if (X509_sign(cert.get(), &key, EVP_sha256()) <= 0) return certificate_error("signing the certificate");
  return cert;
}

result<crypto::unique_x509_req> make_csr(EVP_PKEY& key, std::string_view name, const subject_fields& subject) {
  unique_x509_req csr(X509_REQ_new());
  if (!csr || X509_REQ_set_version(csr.get(), X509_REQ_VERSION_1) != 1) return certificate_error("new CSR");
  auto subject_name = make_subject(name, subject);
  if (!subject_name) return subject_name.error();
  if (X509_REQ_set_subject_name(csr.get(), subject_name->get()) != 1 || X509_REQ_set_pubkey(csr.get(), &key) != 1) {
    return certificate_error("CSR subject or public key");
  }
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, nullptr, nullptr, csr.get(), nullptr, 0);
  auto san = make_extension(context, NID_subject_alt_name, "DNS:" + std::string(name));
  if (!san) return san.error();
  unique_extension_stack extensions(sk_X509_EXTENSION_new_null());
  if (!extensions || sk_X509_EXTENSION_push(extensions.get(), san->get()) == 0)
    return certificate_error("CSR extensions");
  (void)san->release();  // now owned by the stack
  if (X509_REQ_add_extensions(csr.get(), extensions.get()) != 1) return certificate_error("CSR extensions");
  if (X509_REQ_sign(csr.get(), &key, EVP_sha256()) <= 0) return certificate_error("signing the CSR");
  return csr;
}

bool certificate_matches_key(const X509& cert, const EVP_PKEY& key) {
  const EVP_PKEY* public_key = X509_get0_pubkey(&cert);
  return public_key != nullptr && crypto::same_public_key(*public_key, key);
}

std::vector<std::string> subject_alt_dns_names(const X509& cert) {
  std::vector<std::string> names;
  crypto::unique_general_names sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(&cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!sans) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* entry = sk_GENERAL_NAME_value(sans.get(), i);
    if (entry->type != GEN_DNS) continue;
    const ASN1_IA5STRING* value = entry->d.dNSName;
    std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                     static_cast<std::size_t>(ASN1_STRING_length(value)));
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    names.push_back(std::move(text));
  }
  return names;
}

std::string subject_common_name(const X509& cert) {
  const X509_NAME* subject = X509_get_subject_name(&cert);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return {};
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
          static_cast<std::size_t>(ASN1_STRING_length(value))};
}

std::chrono::system_clock::time_point not_before(const X509& cert) {
  return to_time_point(X509_get0_notBefore(&cert));
}
std::chrono::system_clock::time_point not_after(const X509& cert) {
  return to_time_point(X509_get0_notAfter(&cert));
}

}  // namespace danemq::identity
