// DNSSEC on a network that may lie: local validation is the default, the AD
// bit is trusted only where nothing can forge it on its way, and a resolver
// that lies with AD=1 is caught. Against the real Knot + Unbound of the DNS
// rig, through a lying resolver in front of it, and with the services'
// executables as a user runs them.

#include <gtest/gtest.h>

#include <filesystem>

#include "danemq/dane/discovery.hpp"
#include "danemq/identity/tlsa_record.hpp"
#include "lying_resolver.hpp"
#include "support/dns_rig.hpp"
#include "support/test_certificates.hpp"

namespace danemq::dane {
namespace {

using namespace std::chrono_literals;
using test::dns_rig;
using test::lying_resolver;

std::string why(const auto& r) {
  return r ? std::string("success") : r.error().message();
}

std::string tlsa_line(const std::string& name, const testing::issued& id) {
  return identity::zone_file_line(name, *identity::make_tlsa_record(*id.cert, 3, 0, 0), 60);
}

/// TLSA RDATA "3 0 0 <certificate>" of the attacker's certificate.
std::vector<std::uint8_t> forged_rdata(const testing::issued& attacker) {
  const auto record = identity::make_tlsa_record(*attacker.cert, 3, 0, 0).value();
  std::vector<std::uint8_t> rdata{record.usage, record.selector, record.matching};
  rdata.insert(rdata.end(), record.data.begin(), record.data.end());
  return rdata;
}

std::shared_ptr<discovery> discovery_through(const std::string& resolver, discovery_config config = {}) {
  config.resolver = resolver;
  config.timeout = 2s;
  config.retries = 1;
  config.pkix_cd = false;
  auto created = discovery::create(config);
  if (!created) throw std::runtime_error(created.error().message());
  return *created;
}

TEST(DaneDnssec, ALyingResolverSettingTheAdBitOnAForgedTlsaIsRefusedUnderTheDefaults) {
  const std::string name = "dev._device.danemq.test";
  const auto device = testing::make_identity(name);
  const auto attacker = testing::make_identity(name);
  dns_rig rig({.signed_records = {tlsa_line(name, device)}});
  lying_resolver liar(rig.resolver_port(), forged_rdata(attacker));

  // The defaults: validated here from the root key; the forged record is not
  // signed, so nothing of it is trusted.
  const discovery_config defaults;
  ASSERT_EQ(defaults.dnssec, dnssec_mode::local);
  auto by_default = discovery_through(liar.address())->discover(name);
  EXPECT_FALSE(by_default) << "the forged key was accepted";
  EXPECT_GE(liar.lies_told(), 1u);

  // Validated from the zone's own key: the real chain of trust reaches the
  // zone through the liar, and the forged record does not verify against it.
  discovery_config anchored;
  anchored.trust_anchor = rig.trust_anchor();
  auto from_the_zone_key = discovery_through(liar.address(), anchored)->discover(name);
  ASSERT_FALSE(from_the_zone_key) << "the forged key was accepted";
  EXPECT_EQ(from_the_zone_key.error().code, make_error_code(errc::bogus)) << why(from_the_zone_key);

  // The same lookup without the liar: the real record, secure.
  auto real = discovery_through(rig.resolver(), anchored)->discover(name);
  ASSERT_TRUE(real) << why(real);
  EXPECT_TRUE((*real)->dnssec_secure);
  EXPECT_TRUE(crypto::same_public_key(*(*real)->keys[0].public_key, *device.key));
}

TEST(DaneDnssec, AForgedNxdomainWithTheAdBitIsRefusedUnderLocalValidation) {
  const std::string name = "dev._device.danemq.test";
  const auto device = testing::make_identity(name);
  dns_rig rig({.signed_records = {tlsa_line(name, device)}});
  lying_resolver liar(rig.resolver_port(), {}, lying_resolver::lie::nxdomain);

  discovery_config anchored;
  anchored.trust_anchor = rig.trust_anchor();
  auto source = discovery_through(liar.address(), anchored);
  auto denied = source->discover(name);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, make_error_code(errc::bogus)) << why(denied);
  EXPECT_GE(liar.lies_told(), 1u);
}

// ---- the local validator against the rig: every verdict proven ----

std::shared_ptr<discovery> local_discovery(const dns_rig& rig, const std::string& resolver, cache_limits cache = {}) {
  discovery_config config;
  config.trust_anchor = rig.trust_anchor();
  config.cache = cache;
  return discovery_through(resolver, config);
}

TEST(DaneDnssec, ValidatesZonesSignedWithNsecAndWithNsec3AndTheirDenials) {
  const auto nsec_device = testing::make_identity("dev._device.danemq.test");
  const auto nsec3_device = testing::make_identity("dev._device.nsec3.danemq.test");
  dns_rig rig({.signed_records = {tlsa_line("dev._device.danemq.test", nsec_device)},
               .nsec3_records = {tlsa_line("dev._device.nsec3.danemq.test", nsec3_device),
                                 "host.nsec3.danemq.test. A 127.0.0.1"}});
  auto source = local_discovery(rig, rig.resolver());
  for (const auto& [zone, device] : {std::pair{std::string("danemq.test"), &nsec_device},
                                     std::pair{std::string("nsec3.danemq.test"), &nsec3_device}}) {
    SCOPED_TRACE(zone);
    auto found = source->discover("dev._device." + zone);
    ASSERT_TRUE(found) << why(found);
    EXPECT_TRUE((*found)->dnssec_secure);
    EXPECT_TRUE(crypto::same_public_key(*(*found)->keys[0].public_key, *device->key));

    // NXDOMAIN and NODATA, each proven by the zone's signed NSEC or NSEC3 records.
    const auto missing = source->look_up("missing._device." + zone);
    ASSERT_TRUE(missing) << why(missing);
    ASSERT_TRUE(missing->dns_error);
    EXPECT_EQ(missing->dns_error->code, make_error_code(errc::nxdomain)) << missing->dns_error->message();
    EXPECT_EQ(missing->dnssec.status, dnssec_status::secure) << missing->dnssec.reason;
    const std::string host = zone == "danemq.test" ? "device.danemq.test" : "host.nsec3.danemq.test";
    const auto no_tlsa = source->look_up(host);
    ASSERT_TRUE(no_tlsa) << why(no_tlsa);
    ASSERT_TRUE(no_tlsa->dns_error);
    EXPECT_EQ(no_tlsa->dns_error->code, make_error_code(errc::nodata)) << no_tlsa->dns_error->message();
    EXPECT_EQ(no_tlsa->dnssec.status, dnssec_status::secure) << no_tlsa->dnssec.reason;
  }
}

TEST(DaneDnssec, AnUnsignedDelegationUnderASignedParentIsProvablyInsecure) {
  const auto device = testing::make_identity("dev._device.insecure.danemq.test");
  dns_rig rig({.insecure_records = {tlsa_line("dev._device.insecure.danemq.test", device)}});
  auto source = local_discovery(rig, rig.resolver());
  const auto lookup = source->look_up("dev._device.insecure.danemq.test");
  ASSERT_TRUE(lookup) << why(lookup);
  EXPECT_EQ(lookup->dnssec.status, dnssec_status::insecure) << lookup->dnssec.reason;
  EXPECT_NE(lookup->dnssec.reason.find("unsigned delegation insecure.danemq.test"), std::string::npos)
      << lookup->dnssec.reason;
  // Insecure is not enough for a DANE-EE key.
  auto refused = source->discover("dev._device.insecure.danemq.test");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, make_error_code(errc::insecure)) << why(refused);
}

TEST(DaneDnssec, AWildcardTlsaIsAcceptedWithTheProofThatNoCloserNameExists) {
  const auto wild = testing::make_identity("any._wild.danemq.test");
  const auto wild3 = testing::make_identity("any._wild.nsec3.danemq.test");
  dns_rig rig({.signed_records = {tlsa_line("*._wild.danemq.test", wild)},
               .nsec3_records = {tlsa_line("*._wild.nsec3.danemq.test", wild3)}});
  auto source = local_discovery(rig, rig.resolver());
  for (const auto& [name, device] : {std::pair{std::string("dev1._wild.danemq.test"), &wild},
                                     std::pair{std::string("dev1._wild.nsec3.danemq.test"), &wild3}}) {
    SCOPED_TRACE(name);
    auto found = source->discover(name);
    ASSERT_TRUE(found) << why(found);
    EXPECT_TRUE((*found)->dnssec_secure);
    EXPECT_TRUE(crypto::same_public_key(*(*found)->keys[0].public_key, *device->key));
  }
}

TEST(DaneDnssec, AWildcardTlsaWithoutTheProofThatNoCloserNameExistsIsBogus) {
  const auto wild = testing::make_identity("any._wild.danemq.test");
  dns_rig rig({.signed_records = {tlsa_line("*._wild.danemq.test", wild)}});
  // The signed wildcard record, replayed for a name without its NSEC proof
  // (it could hide a closer name with another key).
  lying_resolver stripper(rig.resolver_port(), {}, lying_resolver::lie::strip_authority);
  auto source = local_discovery(rig, stripper.address());
  auto refused = source->discover("dev1._wild.danemq.test");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, make_error_code(errc::bogus)) << why(refused);
  EXPECT_NE(refused.error().detail.find("wildcard expansion"), std::string::npos) << why(refused);
  EXPECT_GE(stripper.lies_told(), 1u);
}

TEST(DaneDnssec, AnExpiredSignatureIsRefused) {
  const auto device = testing::make_identity("dev._device.expired.test");
  dns_rig rig({.expired_records = {tlsa_line("dev._device.expired.test", device)}});
  auto source = local_discovery(rig, rig.resolver());
  auto refused = source->discover("dev._device.expired.test");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, make_error_code(errc::bogus)) << why(refused);
  EXPECT_NE(refused.error().detail.find("expired"), std::string::npos) << why(refused);
}

TEST(DaneDnssec, AnAnswerIsCachedNoLongerThanItsSignaturesOriginalTtlAndExpiry) {
  const auto short_lived = testing::make_identity("short._device.offline.test");
  const auto long_lived = testing::make_identity("long._device.offline.test");
  dns_rig rig(
      {.offline_records = {tlsa_line("short._device.offline.test", short_lived),
                           identity::zone_file_line("long._device.offline.test",
                                                    *identity::make_tlsa_record(*long_lived.cert, 3, 0, 0), 3600)},
       .offline_lifetime = std::chrono::seconds(300)});
  // Straight from Knot, which serves the TTL of the zone file (86400 where
  // the signature says 60), not capped by a validating resolver.
  auto source = local_discovery(rig, rig.authoritative(), {.max_ttl = std::chrono::hours(24)});
  const auto lookup = source->look_up("short._device.offline.test");
  ASSERT_TRUE(lookup) << why(lookup);
  EXPECT_EQ(lookup->answer.ttl, 86400u);

  const auto now = std::chrono::steady_clock::now();
  auto capped_by_ttl = source->discover("short._device.offline.test");
  ASSERT_TRUE(capped_by_ttl) << why(capped_by_ttl);
  EXPECT_LE((*capped_by_ttl)->valid_until, now + 61s);
  EXPECT_GT((*capped_by_ttl)->valid_until, now + 50s);

  auto capped_by_expiry = source->discover("long._device.offline.test");
  ASSERT_TRUE(capped_by_expiry) << why(capped_by_expiry);
  EXPECT_LE((*capped_by_expiry)->valid_until, now + 301s);
  EXPECT_GT((*capped_by_expiry)->valid_until, now + 200s);
}

// ---- the executables: resolver mode refused where the AD bit can be forged ----

std::map<std::string, std::string> service_env(const test::temp_dir& dir, const std::string& resolver) {
  return {{"IDENTITY_NAME", "dev._device.danemq.test"},
          {"CRYPTO_PATH", (dir.path() / "identity").string()},
          {"DATA_PATH", (dir.path() / "data").string()},
          {"MQTT_HOST", "127.0.0.1"},
          {"MQTT_PORT", std::to_string(test::free_port())},
          {"DNS_RESOLVER", resolver},
          {"DNSSEC_VALIDATION", "resolver"},
          {"DNS_TIMEOUT_MS", "200"},
          {"DNS_RETRIES", "0"},
          {"PKIX_CD", "0"}};
}

/// The one line a refused start writes.
void expect_refused(const test::command_result& run, const std::string& because) {
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_NE(run.err.find("DNSSEC_VALIDATION=resolver refused"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(because), std::string::npos) << run.err;
}

TEST(DaneDnssec, EveryCommandRefusesToTrustTheAdBitOffLoopbackOrFromDockersResolver) {
  test::temp_dir dir("danemq-dnssec");
  const auto maintenance = (test::binary_dir() / "danemq-maintenance").string();
  const auto sender = (test::binary_dir() / "danemq-sender").string();
  const auto receiver = (test::binary_dir() / "danemq-receiver").string();
  ASSERT_EQ(test::run_command({maintenance, "create-selfsigned-id"}, service_env(dir, "127.0.0.1")).exit_code, 0);

  for (const auto& [resolver, because] : std::vector<std::pair<std::string, std::string>>{
           {"192.0.2.53", "192.0.2.53:53 is not on loopback"}, {"127.0.0.11", "Docker's embedded resolver"}}) {
    SCOPED_TRACE(resolver);
    const auto env = service_env(dir, resolver);
    expect_refused(test::run_command({maintenance, "lookup", "peer._device.danemq.test"}, env, {}, 20s), because);
    expect_refused(test::run_command({maintenance, "check"}, env, {}, 20s), because);
    expect_refused(test::run_command({sender, "send", "peer._device.danemq.test", "HELLO"}, env, {}, 20s), because);
    // The daemon refuses at start instead of running on a forgeable bit.
    expect_refused(test::run_command({receiver}, env, {}, 20s), because);
  }
}

TEST(DaneDnssec, TheAdBitOfAResolverOffLoopbackIsTrustedOnlyWhenThePathIsDeclaredTrusted) {
  test::temp_dir dir("danemq-dnssec");
  const auto maintenance = (test::binary_dir() / "danemq-maintenance").string();
  auto env = service_env(dir, "192.0.2.53");
  env["DNSSEC_TRUST_RESOLVER"] = "1";
  env["DNS_TIMEOUT_MS"] = "100";
  // Allowed: it asks (and, nothing answering at that address, times out).
  const auto run = test::run_command({maintenance, "lookup", "peer._device.danemq.test"}, env, {}, 20s);
  EXPECT_EQ(run.err.find("refused"), std::string::npos) << run.out << run.err;
  EXPECT_NE(run.out.find("Resolver: 192.0.2.53:53 (DNSSEC_VALIDATION=resolver)"), std::string::npos)
      << run.out << run.err;
}

}  // namespace
}  // namespace danemq::dane
