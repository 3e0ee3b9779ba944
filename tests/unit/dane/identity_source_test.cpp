#include "danemq/dane/identity_source.hpp"

#include <gtest/gtest.h>

#include "danemq/dane/trust.hpp"
#include "support/test_certificates.hpp"

namespace danemq::dane {
namespace {

/// A source that knows one certificate, as the message layer's fakes do.
class one_identity_source final : public identity_source {
 public:
  explicit one_identity_source(const X509& cert) : cert_(X509_dup(const_cast<X509*>(&cert))) {}
  result<dane_identity_ptr> discover(std::string_view name) override {
    ++calls;
    if (name != "dev._device.example.net") return fail(errc::nxdomain, std::string(name));
    auto identity = std::make_shared<dane_identity>();
    identity->name = std::string(name);
    identity->dnssec_secure = true;
    auto record = identity::make_tlsa_record(*cert_, 3, 0, 0);
    identity->keys.push_back(trusted_key{crypto::unique_evp_pkey(X509_get_pubkey(cert_.get())),
                                         crypto::unique_x509(X509_dup(cert_.get())), *record});
    return dane_identity_ptr(identity);
  }
  int calls{0};

 private:
  crypto::unique_x509 cert_;
};

TEST(IdentitySource, ConfirmsAPresentedCertificateThroughDiscover) {
  auto id = testing::make_identity("dev._device.example.net");
  auto other = testing::make_identity("dev._device.example.net");
  one_identity_source source(*id.cert);
  auto confirmed = source.confirm_certificate("dev._device.example.net", *id.cert);
  ASSERT_TRUE(confirmed);
  EXPECT_TRUE(crypto::same_public_key(*confirmed->public_key, *id.key));
  auto refused = source.confirm_certificate("dev._device.example.net", *other.cert);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, make_error_code(errc::no_match));
  auto missing = source.confirm_certificate("nobody._device.example.net", *id.cert);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, make_error_code(errc::nxdomain));
  EXPECT_EQ(source.calls, 3);
}

TEST(IdentitySource, ErrorsReadAsText) {
  EXPECT_EQ(make_error_code(errc::bogus).message(), "DNSSEC validation failed (bogus)");
  EXPECT_STREQ(make_error_code(errc::nodata).category().name(), "dane");
  EXPECT_EQ(fail(errc::timeout, "127.0.0.1:53").message(), "DNS timeout: 127.0.0.1:53");
}

}  // namespace
}  // namespace danemq::dane
