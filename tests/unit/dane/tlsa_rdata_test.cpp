#include "danemq/dane/tlsa_rdata.hpp"

#include <gtest/gtest.h>

#include "danemq/identity/tlsa_record.hpp"
#include "support/test_certificates.hpp"

namespace danemq::dane {
namespace {

using identity::tlsa_record;

bool failed_with(const auto& r, errc code) {
  return !r && r.error().code == make_error_code(code);
}

TEST(TlsaRdata, ParsesWireFormAndBack) {
  const crypto::bytes rdata{3, 1, 1, 0xaa, 0xbb};
  auto record = tlsa_from_rdata(rdata);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->usage, 3);
  EXPECT_EQ(record->selector, 1);
  EXPECT_EQ(record->matching, 1);
  EXPECT_EQ(record->data, (crypto::bytes{0xaa, 0xbb}));
  EXPECT_EQ(tlsa_to_rdata(*record), rdata);
}

TEST(TlsaRdata, RefusesRdataWithoutAssociationData) {
  EXPECT_TRUE(failed_with(tlsa_from_rdata(crypto::bytes{3, 0, 0}), errc::malformed_record));
  EXPECT_TRUE(failed_with(tlsa_from_rdata(crypto::bytes{}), errc::malformed_record));
}

TEST(TlsaRdata, ParsesPresentationFormWithSplitHex) {
  auto record = tlsa_from_text("3 1 1 0102 0304\t05");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->data, (crypto::bytes{1, 2, 3, 4, 5}));
  EXPECT_TRUE(failed_with(tlsa_from_text("3 1 1"), errc::malformed_record));
  EXPECT_TRUE(failed_with(tlsa_from_text("3 x 1 0102"), errc::malformed_record));
  EXPECT_TRUE(failed_with(tlsa_from_text("3 1 256 0102"), errc::malformed_record));
  EXPECT_TRUE(failed_with(tlsa_from_text("3 1 1 01zz"), errc::malformed_record));
}

TEST(TlsaCheck, AcceptsWholeCertificateAndKeepsItsKey) {
  auto id = testing::make_identity("dev._device.example.net");
  auto record = identity::make_tlsa_record(*id.cert, 3, 0, 0);
  ASSERT_TRUE(record);
  auto checked = check_tlsa_record(*record);
  ASSERT_TRUE(checked) << checked.error().message();
  ASSERT_TRUE(checked->certificate);
  ASSERT_TRUE(checked->public_key);
  EXPECT_EQ(X509_cmp(checked->certificate.get(), id.cert.get()), 0);
  EXPECT_TRUE(crypto::same_public_key(*checked->public_key, *id.key));
}

TEST(TlsaCheck, AcceptsSubjectPublicKeyInfo) {
  auto id = testing::make_identity("dev._device.example.net", testing::test_key::rsa_2048);
  auto checked = check_tlsa_record(*identity::make_tlsa_record(*id.cert, 3, 1, 0));
  ASSERT_TRUE(checked);
  EXPECT_FALSE(checked->certificate);
  EXPECT_TRUE(crypto::same_public_key(*checked->public_key, *id.key));
}

TEST(TlsaCheck, AcceptsHashesOfTheRightLength) {
  auto id = testing::make_identity("dev._device.example.net");
  EXPECT_TRUE(check_tlsa_record(*identity::make_tlsa_record(*id.cert, 3, 1, 1)));
  EXPECT_TRUE(check_tlsa_record(*identity::make_tlsa_record(*id.cert, 3, 0, 2)));
  EXPECT_TRUE(failed_with(check_tlsa_record(tlsa_record{3, 1, 1, crypto::bytes(31, 1)}), errc::malformed_record));
  EXPECT_TRUE(failed_with(check_tlsa_record(tlsa_record{3, 1, 2, crypto::bytes(32, 1)}), errc::malformed_record));
}

TEST(TlsaCheck, RefusesParametersOutsideRfc6698) {
  const crypto::bytes hash(32, 7);
  EXPECT_TRUE(failed_with(check_tlsa_record(tlsa_record{5, 1, 1, hash}), errc::malformed_record));
  EXPECT_TRUE(failed_with(check_tlsa_record(tlsa_record{3, 2, 1, hash}), errc::malformed_record));
  EXPECT_TRUE(failed_with(check_tlsa_record(tlsa_record{3, 1, 3, hash}), errc::malformed_record));
}

TEST(TlsaCheck, RefusesExactDataThatIsNotDer) {
  auto bad_cert = check_tlsa_record(tlsa_record{3, 0, 0, crypto::bytes{0x30, 0x03, 0x02, 0x01, 0x01}});
  ASSERT_TRUE(failed_with(bad_cert, errc::malformed_record));
  EXPECT_NE(bad_cert.error().detail.find("certificate"), std::string::npos);
  EXPECT_TRUE(failed_with(check_tlsa_record(tlsa_record{3, 1, 0, crypto::bytes{1, 2, 3}}), errc::malformed_record));
}

TEST(TlsaCheck, RefusesTrailingBytesAfterTheCertificate) {
  auto id = testing::make_identity("dev._device.example.net");
  auto record = *identity::make_tlsa_record(*id.cert, 3, 0, 0);
  record.data.push_back(0);
  EXPECT_TRUE(failed_with(check_tlsa_record(record), errc::malformed_record));
}

TEST(TlsaCheck, RefusesKeysOutsideTheAllowList) {
  auto weak = testing::make_identity("dev._device.example.net", testing::test_key::rsa_1024);
  auto checked = check_tlsa_record(*identity::make_tlsa_record(*weak.cert, 3, 0, 0));
  ASSERT_TRUE(failed_with(checked, errc::unsupported_record));
  EXPECT_NE(checked.error().detail.find("1024"), std::string::npos);
}

TEST(TlsaCheck, NamesUsagesAndDescribesRecords) {
  EXPECT_EQ(usage_name(3), "DANE-EE");
  EXPECT_EQ(usage_name(4), "PKIX-CD");
  EXPECT_EQ(usage_name(9), "usage 9");
  EXPECT_EQ(describe_record(tlsa_record{3, 1, 1, crypto::bytes(32, 0)}), "3 1 1 (DANE-EE, 32 octets)");
}

}  // namespace
}  // namespace danemq::dane
