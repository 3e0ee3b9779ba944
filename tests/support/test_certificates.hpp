#pragma once
// Test-only certificate factory for the DANE tests: self-signed identities,
// small CA hierarchies (with SubjectKeyIdentifier and AuthorityKeyIdentifier,
// as PKIX-CD needs) and certificates with chosen validity. Throws on failure:
// a broken fixture is a broken test.

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "danemq/crypto/openssl.hpp"

namespace danemq::dane::testing {

struct issued {
  crypto::unique_evp_pkey key;
  crypto::unique_x509 cert;
};

enum class test_key { ec_p256, rsa_2048, rsa_1024, rsa_4096 };

inline crypto::unique_evp_pkey make_test_key(test_key type = test_key::ec_p256) {
  EVP_PKEY* key = nullptr;
  switch (type) {
    case test_key::ec_p256: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case test_key::rsa_2048: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)); break;
    case test_key::rsa_1024: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024)); break;
    case test_key::rsa_4096: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(4096)); break;
  }
  if (key == nullptr) throw std::runtime_error("test key generation failed");
  return crypto::unique_evp_pkey(key);
}

struct certificate_spec {
  std::string common_name;
  std::vector<std::string> dns_names;  ///< SAN dNSName entries
  bool is_ca{false};
  std::chrono::seconds valid_from{-3600};   ///< relative to now
  std::chrono::seconds valid_until{86400};  ///< relative to now
  test_key key_type{test_key::ec_p256};
};

/// A certificate per `spec`, signed by `issuer` (self-signed when null).
inline issued make_certificate(const certificate_spec& spec, const issued* issuer = nullptr) {
  issued out{make_test_key(spec.key_type), crypto::unique_x509(X509_new())};
  X509* cert = out.cert.get();
  auto check = [](int ok, const char* what) {
    if (ok != 1)
      throw std::runtime_error(std::string("test certificate: ") + what + ": " + crypto::drain_openssl_errors());
  };
  check(X509_set_version(cert, X509_VERSION_3), "version");
  static long serial = 1000;
  check(ASN1_INTEGER_set(X509_get_serialNumber(cert), ++serial), "serial");
  check(X509_gmtime_adj(X509_getm_notBefore(cert), static_cast<long>(spec.valid_from.count())) != nullptr, "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(cert), static_cast<long>(spec.valid_until.count())) != nullptr, "notAfter");
  X509_NAME* name = X509_get_subject_name(cert);
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0),
        "CN");
  X509* issuer_cert = issuer != nullptr ? issuer->cert.get() : cert;
  EVP_PKEY* signing_key = issuer != nullptr ? issuer->key.get() : out.key.get();
  check(X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert)), "issuer");
  check(X509_set_pubkey(cert, out.key.get()), "pubkey");

  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer_cert, cert, nullptr, nullptr, 0);
  auto add = [&](int nid, const std::string& value) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
    if (extension == nullptr) throw std::runtime_error("test certificate extension " + value);
    const int added = X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
    check(added, "add extension");
  };
  add(NID_basic_constraints, spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add(NID_key_usage, spec.is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyEncipherment");
  add(NID_subject_key_identifier, "hash");
  add(NID_authority_key_identifier, "keyid:always");
  if (!spec.dns_names.empty()) {
    std::string san;
    for (const auto& dns : spec.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + dns;
    add(NID_subject_alt_name, san);
  }
  check(X509_sign(cert, signing_key, EVP_sha256()) > 0 ? 1 : 0, "sign");
  return out;
}

/// A self-signed identity certificate for `name` (CN and SAN), like the original makes.
inline issued make_identity(const std::string& name, test_key type = test_key::ec_p256,
                            std::chrono::seconds valid_from = std::chrono::seconds(-3600),
                            std::chrono::seconds valid_until = std::chrono::seconds(86400)) {
  return make_certificate(certificate_spec{name, {name}, false, valid_from, valid_until, type});
}

}  // namespace danemq::dane::testing
