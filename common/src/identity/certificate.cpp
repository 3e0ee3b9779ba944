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

struct x509_algor_deleter {
  void operator()(X509_ALGOR* p) const noexcept { X509_ALGOR_free(p); }
};
using unique_x509_algor = std::unique_ptr<X509_ALGOR, x509_algor_deleter>;
struct asn1_bit_string_deleter {
  void operator()(ASN1_BIT_STRING* p) const noexcept { ASN1_BIT_STRING_free(p); }
};
using unique_asn1_bit_string = std::unique_ptr<ASN1_BIT_STRING, asn1_bit_string_deleter>;

/// Sets the algorithm of a SHA-256 signature by `key` (ecdsa-with-SHA256 or
/// sha256WithRSAEncryption, whose parameters are NULL).
void set_signature_algorithm(X509_ALGOR& algorithm, const crypto::private_key& key) {
  if (crypto::kind_of(key.public_key()) == crypto::key_kind::ec_p256) {
    X509_ALGOR_set0(&algorithm, OBJ_nid2obj(NID_ecdsa_with_SHA256), V_ASN1_UNDEF, nullptr);
  } else {
    X509_ALGOR_set0(&algorithm, OBJ_nid2obj(NID_sha256WithRSAEncryption), V_ASN1_NULL, nullptr);
  }
}

/// The signature of a to-be-signed DER by a key outside the process, as X.509
/// wants it (DER ECDSA-Sig-Value, or the RSA signature).
result<crypto::bytes> sign_to_be_signed(const crypto::private_key& key, std::span<const std::uint8_t> tbs) {
  auto signature = key.sign_sha256(tbs);
  if (!signature) return fail(errc::certificate_failed, "signing with the token: " + signature.error().message());
  if (crypto::kind_of(key.public_key()) != crypto::key_kind::ec_p256) return signature;
  auto der = crypto::ecdsa_raw_to_der(*signature);
  if (!der) return fail(errc::certificate_failed, der.error().message());
  return der;
}

/// Puts the signature bytes in a BIT STRING without unused bits.
bool set_signature_bits(ASN1_BIT_STRING& bits, const crypto::bytes& signature) {
  if (ASN1_BIT_STRING_set(&bits, const_cast<unsigned char*>(signature.data()), static_cast<int>(signature.size())) !=
      1) {
    return false;
  }
  bits.flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
  bits.flags |= ASN1_STRING_FLAG_BITS_LEFT;
  return true;
}

/// Signs a certificate with SHA-256: by OpenSSL for an in-process key; for a
/// token key OpenSSL encodes the to-be-signed part and the token signs its
/// digest (no OpenSSL engine or provider involved).
result<void> sign_certificate(X509& cert, const crypto::private_key& key) {
  if (key.outside() == nullptr) {
    if (X509_sign(&cert, const_cast<EVP_PKEY*>(&key.public_key()), EVP_sha256()) <= 0) {
      return certificate_error("signing the certificate");
    }
    return ok();
  }
  // OpenSSL 3.0 has no setter for a certificate's two algorithm fields or
  // its signature: they belong to the certificate, so they are set in place.
  const ASN1_BIT_STRING* signature_bits = nullptr;
  const X509_ALGOR* outer_algorithm = nullptr;
  X509_get0_signature(&signature_bits, &outer_algorithm, &cert);
  set_signature_algorithm(*const_cast<X509_ALGOR*>(X509_get0_tbs_sigalg(&cert)), key);
  set_signature_algorithm(*const_cast<X509_ALGOR*>(outer_algorithm), key);
  const int length = i2d_re_X509_tbs(&cert, nullptr);
  if (length <= 0) return certificate_error("encoding the certificate");
  crypto::bytes tbs(static_cast<std::size_t>(length));
  unsigned char* out = tbs.data();
  if (i2d_re_X509_tbs(&cert, &out) != length) return certificate_error("encoding the certificate");
  auto signature = sign_to_be_signed(key, tbs);
  if (!signature) return signature.error();
  if (!set_signature_bits(*const_cast<ASN1_BIT_STRING*>(signature_bits), *signature)) {
    return certificate_error("certificate signature");
  }
  if (X509_verify(&cert, const_cast<EVP_PKEY*>(&key.public_key())) != 1) {
    return certificate_error("the token's signature does not verify");
  }
  return ok();
}

/// The same for a CSR.
result<void> sign_request(X509_REQ& csr, const crypto::private_key& key) {
  if (key.outside() == nullptr) {
    if (X509_REQ_sign(&csr, const_cast<EVP_PKEY*>(&key.public_key()), EVP_sha256()) <= 0) {
      return certificate_error("signing the CSR");
    }
    return ok();
  }
  const unique_x509_algor algorithm(X509_ALGOR_new());
  if (!algorithm) return certificate_error("CSR signature algorithm");
  set_signature_algorithm(*algorithm, key);
  if (X509_REQ_set1_signature_algo(&csr, algorithm.get()) != 1) return certificate_error("CSR signature algorithm");
  const int length = i2d_re_X509_REQ_tbs(&csr, nullptr);
  if (length <= 0) return certificate_error("encoding the CSR");
  crypto::bytes tbs(static_cast<std::size_t>(length));
  unsigned char* out = tbs.data();
  if (i2d_re_X509_REQ_tbs(&csr, &out) != length) return certificate_error("encoding the CSR");
  auto signature = sign_to_be_signed(key, tbs);
  if (!signature) return signature.error();
  unique_asn1_bit_string bits(ASN1_BIT_STRING_new());
  if (!bits || !set_signature_bits(*bits, *signature)) return certificate_error("CSR signature");
  X509_REQ_set0_signature(&csr, bits.release());
  if (X509_REQ_verify(&csr, const_cast<EVP_PKEY*>(&key.public_key())) != 1) {
    return certificate_error("the token's CSR signature does not verify");
  }
  return ok();
}

/// Not through timegm: time_t ends in 2038 on 32-bit ARM (core/utc_time.hpp).
std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* time) {
  std::tm parsed{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parsed) != 1) return {};
  const auto seconds = core::utc_seconds(parsed);
  return seconds ? core::saturating_time_point(*seconds) : std::chrono::system_clock::time_point{};
}

}  // namespace

result<crypto::unique_x509> make_self_signed_certificate(const crypto::private_key& key, std::string_view name,
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
      X509_set_issuer_name(cert.get(), subject_name->get()) != 1 ||
      X509_set_pubkey(cert.get(), const_cast<EVP_PKEY*>(&key.public_key())) != 1) {
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
  if (auto done = sign_certificate(*cert, key); !done) return done.error();
  return cert;
}

result<crypto::unique_x509_req> make_csr(const crypto::private_key& key, std::string_view name,
                                         const subject_fields& subject) {
  unique_x509_req csr(X509_REQ_new());
  if (!csr || X509_REQ_set_version(csr.get(), X509_REQ_VERSION_1) != 1) return certificate_error("new CSR");
  auto subject_name = make_subject(name, subject);
  if (!subject_name) return subject_name.error();
  if (X509_REQ_set_subject_name(csr.get(), subject_name->get()) != 1 ||
      X509_REQ_set_pubkey(csr.get(), const_cast<EVP_PKEY*>(&key.public_key())) != 1) {
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
  if (auto done = sign_request(*csr, key); !done) return done.error();
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
