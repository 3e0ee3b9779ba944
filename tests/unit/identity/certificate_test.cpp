#include "danemq/identity/certificate.hpp"

#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "danemq/identity/key.hpp"

namespace danemq::identity {
namespace {

TEST(SelfSignedCertificate, CarriesTheNameSubjectAndKey) {
  auto key = generate_key(key_type::rsa_2048);
  ASSERT_TRUE(key);
  subject_fields subject{"DE", "Berlin", "Berlin", "Example GmbH"};
  auto cert = make_self_signed_certificate(**key, "alice.example.net", subject, std::chrono::days(30));
  ASSERT_TRUE(cert) << cert.error().message();

  EXPECT_EQ(subject_common_name(**cert), "alice.example.net");
  EXPECT_EQ(subject_alt_dns_names(**cert), std::vector<std::string>{"alice.example.net"});
  EXPECT_TRUE(certificate_matches_key(**cert, **key));
  EXPECT_EQ(X509_get_signature_nid(cert->get()), NID_sha256WithRSAEncryption);
  EXPECT_EQ(X509_verify(cert->get(), key->get()), 1) << "self-signed by its own key";

  char country[8] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert->get()), NID_countryName, country, sizeof country);
  EXPECT_STREQ(country, "DE");
  char organization[32] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert->get()), NID_organizationName, organization,
                            sizeof organization);
  EXPECT_STREQ(organization, "Example GmbH");

  const auto lifetime = not_after(**cert) - not_before(**cert);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::hours>(lifetime).count(), 30 * 24);
}

// 32-bit ARM (Debian 12 armhf) has a 32-bit time_t: timegm gave -1 for a
// date after January 2038, and a certificate made for 30 years "expired" in
// 1969.
TEST(SelfSignedCertificate, KeepsValidityDatesPast2038) {
  auto key = generate_key(key_type::ec_p256);
  ASSERT_TRUE(key);
  auto cert = make_self_signed_certificate(**key, "a.example", {}, std::chrono::days(30 * 365));
  ASSERT_TRUE(cert) << cert.error().message();
  const auto end_of_32_bit_time = std::chrono::system_clock::time_point(std::chrono::seconds(2'147'483'647));
  EXPECT_GT(not_after(**cert), end_of_32_bit_time);
  EXPECT_GT(not_after(**cert), not_before(**cert));
  const auto lifetime = not_after(**cert) - not_before(**cert);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::hours>(lifetime).count(), 30 * 365 * 24);

  ASSERT_EQ(ASN1_TIME_set_string_X509(X509_getm_notAfter(cert->get()), "20500101000000Z"), 1);
  EXPECT_EQ(not_after(**cert), std::chrono::system_clock::time_point(std::chrono::seconds(2'524'608'000)));
}

// RFC 5280 4.1.2.5: 99991231235959Z means no expiry; beyond the clock's range
// (2262), the date is its end rather than an overflowed one.
TEST(SelfSignedCertificate, ReadsNoExpiryAsTheEndOfTheClock) {
  auto key = generate_key(key_type::ec_p256);
  ASSERT_TRUE(key);
  auto cert = make_self_signed_certificate(**key, "a.example", {});
  ASSERT_TRUE(cert) << cert.error().message();
  ASSERT_EQ(ASN1_TIME_set_string_X509(X509_getm_notAfter(cert->get()), "99991231235959Z"), 1);
  EXPECT_EQ(not_after(**cert), std::chrono::system_clock::time_point::max());
}

TEST(SelfSignedCertificate, HasRandomSerials) {
  auto key = generate_key(key_type::ec_p256);
  ASSERT_TRUE(key);
  auto first = make_self_signed_certificate(**key, "a.example", {});
  auto second = make_self_signed_certificate(**key, "a.example", {});
  ASSERT_TRUE(first && second);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(first->get()), X509_get0_serialNumber(second->get())), 0);
  EXPECT_EQ(X509_get_signature_nid(first->get()), NID_ecdsa_with_SHA256);
}

TEST(SelfSignedCertificate, DoesNotMatchAnotherKey) {
  auto key = generate_key(key_type::ec_p256);
  auto other = generate_key(key_type::ec_p256);
  ASSERT_TRUE(key && other);
  auto cert = make_self_signed_certificate(**key, "a.example", {});
  ASSERT_TRUE(cert);
  EXPECT_FALSE(certificate_matches_key(**cert, **other));
}

TEST(CertificateSigningRequest, CarriesSubjectAndSan) {
  auto key = generate_key(key_type::rsa_2048);
  ASSERT_TRUE(key);
  auto csr = make_csr(**key, "abc123._device.example.net", {});
  ASSERT_TRUE(csr) << csr.error().message();
  EXPECT_EQ(X509_REQ_verify(csr->get(), key->get()), 1);
  crypto::unique_x509_stack ignored;
  STACK_OF(X509_EXTENSION)* extensions = X509_REQ_get_extensions(csr->get());
  ASSERT_NE(extensions, nullptr);
  bool found = false;
  for (int i = 0; i < sk_X509_EXTENSION_num(extensions); ++i) {
    X509_EXTENSION* extension = sk_X509_EXTENSION_value(extensions, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(extension)) != NID_subject_alt_name) continue;
    crypto::unique_general_names names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(extension)));
    ASSERT_EQ(sk_GENERAL_NAME_num(names.get()), 1);
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), 0);
    ASSERT_EQ(name->type, GEN_DNS);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName))),
              "abc123._device.example.net");
    found = true;
  }
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace danemq::identity
