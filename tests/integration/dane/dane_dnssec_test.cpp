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
  EXPECT_TRUE(from_the_zone_key.error().code == make_error_code(errc::bogus) ||
              from_the_zone_key.error().code == make_error_code(errc::insecure))
      << why(from_the_zone_key);

  // The same lookup without the liar: the real record, secure.
  auto real = discovery_through(rig.resolver(), anchored)->discover(name);
  ASSERT_TRUE(real) << why(real);
  EXPECT_TRUE((*real)->dnssec_secure);
  EXPECT_TRUE(crypto::same_public_key(*(*real)->keys[0].public_key, *device.key));
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
