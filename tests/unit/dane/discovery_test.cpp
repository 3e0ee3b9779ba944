#include "danemq/dane/discovery.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <memory>
#include <sstream>

#include <gtest/gtest.h>

#include "support/process.hpp"

namespace danemq::dane {
namespace {

bool failed_with(const auto& r, errc code) {
  return !r && r.error().code == make_error_code(code);
}

// The usage example of discovery.hpp, word for word.
result<dane::dane_identity_ptr> find_peer() {
  dane::discovery_config config;                  // the defaults
  config.resolver = "127.0.0.1:53";               // empty: the first nameserver of /etc/resolv.conf
  config.dnssec = dane::dnssec_mode::local;       // validate from config.trust_anchor
  auto source = dane::discovery::create(config);  // bad_configuration naming the setting
  if (!source) return source.error();
  std::shared_ptr<dane::identity_source> peers = *source;
  return peers->discover("abc123._device.example.net");
}

TEST(Discovery, UsageExampleOfTheHeaderCompiles) {
  // Not run: it would ask a resolver on this machine.
  [[maybe_unused]] result<dane_identity_ptr> (*const example)() = &find_peer;
}

TEST(DiscoveryConfig, RefusesABadResolverAddress) {
  discovery_config config;
  config.resolver = "resolver.example.net";
  auto created = discovery::create(config);
  ASSERT_TRUE(failed_with(created, errc::bad_configuration));
  EXPECT_NE(created.error().detail.find("DNS_RESOLVER"), std::string::npos);
}

TEST(DiscoveryConfig, ReadsTheSystemResolverWhenUnset) {
  test::temp_dir dir;
  const auto resolv = dir.path() / "resolv.conf";
  std::ofstream(resolv) << "nameserver 127.0.0.53\n";
  discovery_config config;
  config.resolv_conf = resolv;
  auto created = discovery::create(config);
  ASSERT_TRUE(created) << created.error().message();
  EXPECT_EQ((*created)->resolver().to_string(), "127.0.0.53:53");
}

/// Captures what is logged through the default logger while alive.
class captured_log {
 public:
  captured_log() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  ~captured_log() { spdlog::set_default_logger(previous_); }
  captured_log(const captured_log&) = delete;
  captured_log& operator=(const captured_log&) = delete;
  [[nodiscard]] std::string text() const { return text_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream text_;
};

TEST(DiscoveryConfig, ValidatesLocallyFromTheRootKeyByDefault) {
  const discovery_config config;
  EXPECT_EQ(config.dnssec, dnssec_mode::local);
  EXPECT_EQ(config.trust_anchor, std::filesystem::path("/usr/share/dns/root.key"));
  EXPECT_FALSE(config.trust_resolver);
}

discovery_config trusting_the_ad_bit_of(const std::string& resolver, bool path_trusted = false) {
  discovery_config config;
  config.resolver = resolver;
  config.dnssec = dnssec_mode::resolver;
  config.trust_resolver = path_trusted;
  return config;
}

TEST(DiscoveryConfig, RefusesToTrustTheAdBitOfAResolverOffLoopback) {
  auto created = discovery::create(trusting_the_ad_bit_of("192.0.2.53"));
  ASSERT_TRUE(failed_with(created, errc::bad_configuration));
  EXPECT_NE(created.error().detail.find("192.0.2.53:53 is not on loopback"), std::string::npos)
      << created.error().detail;
  EXPECT_NE(created.error().detail.find("DNSSEC_TRUST_RESOLVER=1"), std::string::npos);
  EXPECT_EQ(created.error().detail.find('\n'), std::string::npos) << "one line";
  EXPECT_TRUE(failed_with(discovery::create(trusting_the_ad_bit_of("[2001:db8::53]:53")), errc::bad_configuration));
  EXPECT_TRUE(failed_with(discovery::create(trusting_the_ad_bit_of("::ffff:127.0.0.1")), errc::bad_configuration));
}

TEST(DiscoveryConfig, RefusesToTrustTheAdBitOfDockersEmbeddedResolver) {
  auto created = discovery::create(trusting_the_ad_bit_of("127.0.0.11"));
  ASSERT_TRUE(failed_with(created, errc::bad_configuration));
  EXPECT_NE(created.error().detail.find("Docker's embedded resolver"), std::string::npos) << created.error().detail;

  // Read from resolv.conf (what a container has) the same.
  test::temp_dir dir;
  const auto resolv = dir.path() / "resolv.conf";
  std::ofstream(resolv) << "nameserver 127.0.0.11\noptions ndots:0\n";
  auto config = trusting_the_ad_bit_of("");
  config.resolv_conf = resolv;
  EXPECT_TRUE(failed_with(discovery::create(config), errc::bad_configuration));
}

TEST(DiscoveryConfig, TrustsTheAdBitOnLoopbackOrWhenThePathIsDeclaredTrusted) {
  EXPECT_TRUE(discovery::create(trusting_the_ad_bit_of("127.0.0.1:5353")));
  EXPECT_TRUE(discovery::create(trusting_the_ad_bit_of("[::1]:5353")));
  EXPECT_TRUE(discovery::create(trusting_the_ad_bit_of("127.0.0.53")));
  captured_log log;
  EXPECT_TRUE(discovery::create(trusting_the_ad_bit_of("192.0.2.53", true)));
  EXPECT_TRUE(discovery::create(trusting_the_ad_bit_of("127.0.0.11", true)));
  EXPECT_NE(log.text().find("trusts the AD bit from 192.0.2.53:53 (DNSSEC_TRUST_RESOLVER=1)"), std::string::npos)
      << log.text();
}

TEST(DiscoveryConfig, NeedsATrustAnchorInLocalMode) {
  test::temp_dir dir;
  discovery_config config;
  config.resolver = "127.0.0.1:5353";
  config.dnssec = dnssec_mode::local;
  config.trust_anchor = dir.path() / "missing.key";
  EXPECT_TRUE(failed_with(discovery::create(config), errc::bad_configuration));
}

TEST(DiscoveryConfig, RefusesANonPositiveTimeout) {
  discovery_config config;
  config.resolver = "127.0.0.1";
  config.timeout = std::chrono::milliseconds(0);
  EXPECT_TRUE(failed_with(discovery::create(config), errc::bad_configuration));
}

TEST(Discovery, RefusesAnInvalidNameWithoutAsking) {
  discovery_config config;
  config.resolver = "127.0.0.1:9";
  config.dnssec = dnssec_mode::resolver;
  auto created = discovery::create(config);
  ASSERT_TRUE(created);
  EXPECT_TRUE(failed_with((*created)->discover("bad..name"), errc::bad_name));
  EXPECT_EQ((*created)->stats().dns_messages, 0u);
  EXPECT_TRUE(failed_with((*created)->look_up("bad..name"), errc::bad_name));
  EXPECT_EQ((*created)->stats().lookups, 0u);
}

}  // namespace
}  // namespace danemq::dane
