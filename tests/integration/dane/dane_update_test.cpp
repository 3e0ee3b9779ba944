// RFC 2136 dynamic updates signed with TSIG against the real Knot of the DNS
// rig, read back through the validating Unbound.

#include <gtest/gtest.h>

#include "danemq/dane/discovery.hpp"
#include "danemq/dane/dns_update.hpp"
#include "danemq/identity/tlsa_record.hpp"
#include "support/dns_rig.hpp"
#include "support/test_certificates.hpp"

namespace danemq::dane {
namespace {

using namespace std::chrono_literals;

bool failed_with(const auto& r, errc code) {
  return !r && r.error().code == make_error_code(code);
}
std::string why(const auto& r) {
  return r ? std::string("success") : r.error().message();
}

identity::tlsa_record record_of(const testing::issued& id) {
  return *identity::make_tlsa_record(*id.cert, 3, 0, 0);
}

std::shared_ptr<discovery> fresh_discovery(const test::dns_rig& rig) {
  discovery_config config = rig.discovery_config();
  config.pkix_cd = false;
  return *discovery::create(config);
}

TEST(DaneUpdate, ReplacesOnlyTheIdentitysTlsaRecords) {
  const auto neighbour = testing::make_identity("neighbour._device.danemq.test");
  test::dns_rig rig(
      {.signed_records = {identity::zone_file_line("neighbour._device.danemq.test", record_of(neighbour), 60),
                          "pub._device.danemq.test. 60 IN TXT \"kept\""}});
  update_target target{*parse_server_address(rig.authoritative()), *parse_tsig_key(rig.tsig()), 5s, 1};

  auto zone = zone_of(target, "pub._device.danemq.test");
  ASSERT_TRUE(zone) << why(zone);
  EXPECT_EQ(*zone, "danemq.test");

  const auto first = testing::make_identity("pub._device.danemq.test");
  const auto second = testing::make_identity("pub._device.danemq.test");
  auto published = replace_tlsa_records(target, "pub._device.danemq.test", {record_of(first)}, 60);
  ASSERT_TRUE(published) << why(published);
  auto found = fresh_discovery(rig)->discover("pub._device.danemq.test");
  ASSERT_TRUE(found) << why(found);
  EXPECT_TRUE((*found)->dnssec_secure);  // Knot signed the update
  ASSERT_EQ((*found)->keys.size(), 1u);
  EXPECT_EQ(X509_cmp((*found)->keys[0].certificate.get(), first.cert.get()), 0);

  ASSERT_TRUE(replace_tlsa_records(target, "pub._device.danemq.test", {record_of(second)}, 60));
  rig.flush("danemq.test");
  auto replaced = fresh_discovery(rig)->discover("pub._device.danemq.test");
  ASSERT_TRUE(replaced) << why(replaced);
  ASSERT_EQ((*replaced)->keys.size(), 1u);
  EXPECT_EQ(X509_cmp((*replaced)->keys[0].certificate.get(), second.cert.get()), 0);

  // The neighbour's record is untouched.
  auto other = fresh_discovery(rig)->discover("neighbour._device.danemq.test");
  ASSERT_TRUE(other) << why(other);
  EXPECT_EQ(X509_cmp((*other)->keys[0].certificate.get(), neighbour.cert.get()), 0);
}

TEST(DaneUpdate, IsRefusedWithAWrongKey) {
  test::dns_rig rig;
  auto wrong = parse_tsig_key("hmac-sha256:danemq-update:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0");
  ASSERT_TRUE(wrong);
  update_target target{*parse_server_address(rig.authoritative()), *wrong, 5s, 0};
  const auto id = testing::make_identity("pub._device.danemq.test");
  auto refused = replace_tlsa_records(target, "pub._device.danemq.test", {record_of(id)});
  ASSERT_TRUE(failed_with(refused, errc::update_failed)) << why(refused);
  EXPECT_NE(refused.error().detail.find("NOTAUTH"), std::string::npos) << refused.error().detail;
  EXPECT_TRUE(failed_with(fresh_discovery(rig)->discover("pub._device.danemq.test"), errc::nxdomain));
}

}  // namespace
}  // namespace danemq::dane
