#include "danemq/identity/tlsa_record.hpp"

#include <gtest/gtest.h>

#include "danemq/identity/certificate.hpp"
#include "danemq/identity/key.hpp"

namespace danemq::identity {
namespace {

class TlsaRecord : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = generate_key(key_type::ec_p256);
    ASSERT_TRUE(key);
    auto made = make_self_signed_certificate(**key, "alice.example.net", {});
    ASSERT_TRUE(made);
    cert = std::move(made).value();
  }
  crypto::unique_x509 cert;
};

TEST_F(TlsaRecord, DefaultIsTheWholeCertificate) {
  auto record = make_tlsa_record(*cert, 3, 0, 0);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->data, crypto::certificate_der(*cert));
  EXPECT_EQ(record->to_string(), "3 0 0 " + crypto::to_hex(crypto::certificate_der(*cert)));
}

TEST_F(TlsaRecord, SelectorOneIsTheSubjectPublicKeyInfo) {
  auto full = make_tlsa_record(*cert, 3, 1, 0);
  auto sha256 = make_tlsa_record(*cert, 3, 1, 1);
  auto sha512 = make_tlsa_record(*cert, 3, 1, 2);
  ASSERT_TRUE(full && sha256 && sha512);
  EXPECT_EQ(full->data, crypto::public_key_der(*cert));
  EXPECT_EQ(sha256->data, crypto::sha256(crypto::public_key_der(*cert)));
  EXPECT_EQ(sha256->data.size(), 32U);
  EXPECT_EQ(sha512->data.size(), 64U);
  EXPECT_EQ(sha256->to_string().substr(0, 6), "3 1 1 ");
}

TEST_F(TlsaRecord, RefusesParametersOutsideRfc6698) {
  for (auto [usage, selector, matching] : {std::tuple{5, 0, 0}, std::tuple{3, 2, 0}, std::tuple{3, 0, 3}}) {
    auto record = make_tlsa_record(*cert, static_cast<std::uint8_t>(usage), static_cast<std::uint8_t>(selector),
                                   static_cast<std::uint8_t>(matching));
    ASSERT_FALSE(record);
    EXPECT_EQ(record.error().code, errc::bad_tlsa_parameters);
  }
}

TEST_F(TlsaRecord, ZoneFileLineIsFullyQualified) {
  auto record = make_tlsa_record(*cert, 3, 1, 1);
  ASSERT_TRUE(record);
  EXPECT_EQ(zone_file_line("alice.example.net", *record, 300), "alice.example.net. 300 IN TLSA " + record->to_string());
}

}  // namespace
}  // namespace danemq::identity
