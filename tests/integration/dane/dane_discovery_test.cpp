// DANE discovery against a real Knot (signed zones) and a real validating
// Unbound started by tests/support/dns_rig, in both DNSSEC modes. Each test
// starts its own rig (ctest runs every test in its own process), so the
// scenarios are grouped to keep the number of rigs small.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "danemq/dane/discovery.hpp"
#include "danemq/dane/tlsa_rdata.hpp"
#include "danemq/identity/tlsa_record.hpp"
#include "support/dns_rig.hpp"
#include "support/test_certificates.hpp"

namespace danemq::dane {
namespace {

using namespace std::chrono_literals;
using test::dns_rig;
using testing::issued;
using testing::make_identity;

bool failed_with(const auto& r, errc code) {
  return !r && r.error().code == make_error_code(code);
}
std::string why(const auto& r) {
  return r ? std::string("success") : r.error().message();
}

std::string tlsa_line(const std::string& name, const issued& id, int usage, int selector, int matching,
                      unsigned ttl = 60) {
  auto record = identity::make_tlsa_record(*id.cert, static_cast<std::uint8_t>(usage),
                                           static_cast<std::uint8_t>(selector), static_cast<std::uint8_t>(matching));
  return identity::zone_file_line(name, *record, ttl);
}

std::shared_ptr<discovery> make_discovery(const dns_rig& rig, dnssec_mode mode, cache_limits cache = {}) {
  discovery_config config;
  config.resolver = rig.resolver();
  config.dnssec = mode;
  config.trust_anchor = rig.trust_anchor();
  config.timeout = 2s;
  config.retries = 1;
  config.cache = cache;
  config.pkix_cd = false;
  auto created = discovery::create(config);
  if (!created) throw std::runtime_error(created.error().message());
  return *created;
}

constexpr dnssec_mode both_modes[] = {dnssec_mode::resolver, dnssec_mode::local};

TEST(DaneDiscovery, TrustsSecureRecordsInBothModes) {
  const auto cert = make_identity("cert._device.danemq.test");
  const auto key = make_identity("key._device.danemq.test", testing::test_key::rsa_2048);
  const auto hashed = make_identity("hash._device.danemq.test");
  const auto current = make_identity("roll._device.danemq.test");
  const auto next = make_identity("roll._device.danemq.test");
  const auto child = make_identity("dev._device.child.danemq.test");
  dns_rig rig({.signed_records = {tlsa_line("cert._device.danemq.test", cert, 3, 0, 0),
                                  tlsa_line("key._device.danemq.test", key, 3, 1, 0),
                                  tlsa_line("hash._device.danemq.test", hashed, 3, 1, 1),
                                  tlsa_line("roll._device.danemq.test", current, 3, 0, 0),
                                  tlsa_line("roll._device.danemq.test", next, 3, 0, 0),
                                  "mixed._device.danemq.test. 60 IN TLSA 3 0 0 3003020101",
                                  tlsa_line("mixed._device.danemq.test", key, 3, 1, 0),
                                  "alias._device.danemq.test. 60 IN CNAME cert._device.danemq.test."},
               .child_records = {tlsa_line("dev._device.child.danemq.test", child, 3, 0, 0)}});

  crypto::unique_x509 first_rollover_key[2];
  for (const auto mode : both_modes) {
    SCOPED_TRACE(std::string("DNSSEC_VALIDATION=") + std::string(to_string(mode)));
    auto source = make_discovery(rig, mode);

    auto by_cert = source->discover("cert._device.danemq.test");
    ASSERT_TRUE(by_cert) << why(by_cert);
    EXPECT_TRUE((*by_cert)->dnssec_secure);
    ASSERT_EQ((*by_cert)->keys.size(), 1u);
    ASSERT_TRUE((*by_cert)->keys[0].certificate);
    EXPECT_EQ(X509_cmp((*by_cert)->keys[0].certificate.get(), cert.cert.get()), 0);
    EXPECT_EQ((*by_cert)->keys[0].record.usage, 3);

    auto by_key = source->discover("key._device.danemq.test");
    ASSERT_TRUE(by_key) << why(by_key);
    ASSERT_EQ((*by_key)->keys.size(), 1u);
    EXPECT_FALSE((*by_key)->keys[0].certificate);
    EXPECT_TRUE(crypto::same_public_key(*(*by_key)->keys[0].public_key, *key.key));

    // A hash record carries no key; it confirms the certificate presented in-band.
    EXPECT_TRUE(failed_with(source->discover("hash._device.danemq.test"), errc::no_usable_record));
    EXPECT_TRUE(source->confirm_certificate("hash._device.danemq.test", *hashed.cert));
    EXPECT_TRUE(failed_with(source->confirm_certificate("hash._device.danemq.test", *cert.cert), errc::no_match));

    // Rollover: both records count; the one to encrypt to is the same in both modes.
    auto rollover = source->discover("roll._device.danemq.test");
    ASSERT_TRUE(rollover) << why(rollover);
    ASSERT_EQ((*rollover)->keys.size(), 2u);
    EXPECT_TRUE(source->confirm_certificate("roll._device.danemq.test", *current.cert));
    EXPECT_TRUE(source->confirm_certificate("roll._device.danemq.test", *next.cert));
    first_rollover_key[mode == dnssec_mode::local ? 1 : 0].reset(X509_dup((*rollover)->keys[0].certificate.get()));

    // A malformed record next to a good one does not spoil it.
    auto mixed = source->discover("mixed._device.danemq.test");
    ASSERT_TRUE(mixed) << why(mixed);
    EXPECT_EQ((*mixed)->keys.size(), 1u);
    const auto mixed_lookup = source->look_up("mixed._device.danemq.test");
    ASSERT_TRUE(mixed_lookup) << why(mixed_lookup);
    const auto mixed_verdicts = source->decide(*mixed_lookup).verdicts;
    ASSERT_EQ(mixed_verdicts.size() + mixed_lookup->unparseable.size(), 2u);
    EXPECT_EQ(std::count_if(mixed_verdicts.begin(), mixed_verdicts.end(),
                            [](const tlsa_verdict& v) { return v.problem.has_value(); }) +
                  static_cast<std::ptrdiff_t>(mixed_lookup->unparseable.size()),
              1);

    // A secure CNAME is followed; the identity keeps the name asked for.
    auto alias = source->discover("alias._device.danemq.test");
    ASSERT_TRUE(alias) << why(alias);
    EXPECT_EQ((*alias)->name, "alias._device.danemq.test");
    EXPECT_EQ(X509_cmp((*alias)->keys[0].certificate.get(), cert.cert.get()), 0);

    // A zone below the anchor, validated through its DS.
    auto delegated = source->discover("dev._device.child.danemq.test");
    ASSERT_TRUE(delegated) << why(delegated);
    EXPECT_TRUE((*delegated)->dnssec_secure);
  }
  EXPECT_EQ(X509_cmp(first_rollover_key[0].get(), first_rollover_key[1].get()), 0);
}

TEST(DaneDiscovery, RefusesUnsignedAndBogusAnswersInBothModes) {
  const auto id = make_identity("dev._device.unsigned.test");
  const auto signed_id = make_identity("cert._device.danemq.test");
  dns_rig rig({.signed_records = {tlsa_line("cert._device.danemq.test", signed_id, 3, 0, 0)},
               .unsigned_records = {tlsa_line("dev._device.unsigned.test", id, 3, 0, 0),
                                    tlsa_line("pkix-ee._device.unsigned.test", id, 1, 0, 0),
                                    "alias._device.unsigned.test. 60 IN CNAME cert._device.danemq.test."},
               .bogus_records = {tlsa_line("dev._device.bogus.test", id, 3, 0, 0)}});
  for (const auto mode : both_modes) {
    SCOPED_TRACE(std::string("DNSSEC_VALIDATION=") + std::string(to_string(mode)));
    auto source = make_discovery(rig, mode);

    auto unsigned_answer = source->discover("dev._device.unsigned.test");
    EXPECT_TRUE(failed_with(unsigned_answer, errc::insecure)) << why(unsigned_answer);
    EXPECT_TRUE(failed_with(source->discover("pkix-ee._device.unsigned.test"), errc::insecure));
    const auto unsigned_lookup = source->look_up("dev._device.unsigned.test");
    ASSERT_TRUE(unsigned_lookup) << why(unsigned_lookup);
    EXPECT_EQ(unsigned_lookup->dnssec.status, dnssec_status::insecure);
    ASSERT_EQ(unsigned_lookup->records.size(), 1u);

    auto bogus = source->discover("dev._device.bogus.test");
    EXPECT_TRUE(failed_with(bogus, errc::bogus)) << why(bogus);
    const auto bogus_lookup = source->look_up("dev._device.bogus.test");
    ASSERT_TRUE(bogus_lookup) << why(bogus_lookup);
    EXPECT_EQ(bogus_lookup->dnssec.status, dnssec_status::bogus);

    // An insecure CNAME is not followed, even into a signed zone.
    auto insecure_alias = source->discover("alias._device.unsigned.test");
    ASSERT_FALSE(insecure_alias);
    EXPECT_TRUE(failed_with(insecure_alias, errc::insecure)) << why(insecure_alias);
    EXPECT_NE(insecure_alias.error().detail.find("CNAME"), std::string::npos);
  }

  // Local validation from an anchor the zone's key does not match: bogus.
  test::temp_dir dir;
  discovery_config config;
  config.resolver = rig.resolver();
  config.dnssec = dnssec_mode::local;
  config.trust_anchor = dir.path() / "wrong.key";
  std::ofstream(config.trust_anchor) << "danemq.test. 3600 IN DS 4242 13 2 " << std::string(64, 'a') << "\n";
  auto misanchored = discovery::create(config);
  ASSERT_TRUE(misanchored) << why(misanchored);
  auto mismatch = (*misanchored)->discover("cert._device.danemq.test");
  ASSERT_TRUE(failed_with(mismatch, errc::bogus)) << why(mismatch);
  EXPECT_NE(mismatch.error().detail.find("trust anchor"), std::string::npos) << why(mismatch);
}

/// A UDP socket bound on loopback that never answers.
class silent_udp_socket {
 public:
  silent_udp_socket() : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port_);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) throw std::runtime_error("bind");
  }
  ~silent_udp_socket() { ::close(fd_); }
  silent_udp_socket(const silent_udp_socket&) = delete;
  silent_udp_socket& operator=(const silent_udp_socket&) = delete;
  [[nodiscard]] unsigned short port() const { return port_; }

 private:
  unsigned short port_{test::free_port()};
  int fd_;
};

TEST(DaneDiscovery, NamesNxdomainNodataServfailAndTimeout) {
  dns_rig rig;
  for (const auto mode : both_modes) {
    SCOPED_TRACE(std::string("DNSSEC_VALIDATION=") + std::string(to_string(mode)));
    auto source = make_discovery(rig, mode);
    auto missing = source->discover("missing._device.danemq.test");
    EXPECT_TRUE(failed_with(missing, errc::nxdomain)) << why(missing);
    auto no_tlsa = source->discover("device.danemq.test");
    EXPECT_TRUE(failed_with(no_tlsa, errc::nodata)) << why(no_tlsa);
    auto servfail = source->discover("dev._device.broken.test");
    EXPECT_TRUE(failed_with(servfail, errc::servfail)) << why(servfail);
  }

  // The same SERVFAIL straight from the authoritative server.
  discovery_config direct;
  direct.resolver = rig.authoritative();
  direct.dnssec = dnssec_mode::resolver;
  direct.timeout = 2s;
  auto authoritative = discovery::create(direct);
  ASSERT_TRUE(authoritative);
  EXPECT_TRUE(failed_with((*authoritative)->discover("dev._device.broken.test"), errc::servfail));

  silent_udp_socket silent;
  discovery_config config;
  config.resolver = "127.0.0.1:" + std::to_string(silent.port());
  config.dnssec = dnssec_mode::resolver;
  config.timeout = 200ms;
  config.retries = 1;
  auto source = discovery::create(config);
  ASSERT_TRUE(source);
  auto timed_out = (*source)->discover("dev._device.danemq.test");
  EXPECT_TRUE(failed_with(timed_out, errc::timeout)) << why(timed_out);
  EXPECT_EQ((*source)->stats().dns_messages, 2u);
}

TEST(DaneDiscovery, AsksAgainOverTcpWhenTheAnswerIsTruncated) {
  const auto big = make_identity("big._device.danemq.test", testing::test_key::rsa_4096);
  const auto small = make_identity("small._device.danemq.test");
  ASSERT_GT(crypto::certificate_der(*big.cert).size(), 1232u);
  dns_rig rig({.signed_records = {tlsa_line("big._device.danemq.test", big, 3, 0, 0),
                                  tlsa_line("small._device.danemq.test", small, 3, 1, 0)}});
  for (const auto mode : both_modes) {
    SCOPED_TRACE(std::string("DNSSEC_VALIDATION=") + std::string(to_string(mode)));
    auto source = make_discovery(rig, mode);
    const auto big_lookup = source->look_up("big._device.danemq.test");
    ASSERT_TRUE(big_lookup) << why(big_lookup);
    EXPECT_TRUE(big_lookup->over_tcp);
    EXPECT_FALSE(big_lookup->dns_error) << big_lookup->dns_error->message();
    EXPECT_EQ(source->decide(*big_lookup).keys.size(), 1u);
    const auto small_lookup = source->look_up("small._device.danemq.test");
    ASSERT_TRUE(small_lookup) << why(small_lookup);
    EXPECT_FALSE(small_lookup->over_tcp);
    auto found = source->discover("big._device.danemq.test");
    ASSERT_TRUE(found) << why(found);
    EXPECT_EQ(X509_cmp((*found)->keys[0].certificate.get(), big.cert.get()), 0);
  }
}

TEST(DaneDiscovery, CachesForTheTtlAndSendsNoQueryOnAHit) {
  const auto id = make_identity("cached._device.danemq.test");
  const auto other = make_identity("busy._device.danemq.test");
  dns_rig rig({.signed_records = {tlsa_line("cached._device.danemq.test", id, 3, 0, 0),
                                  tlsa_line("busy._device.danemq.test", other, 3, 0, 0)}});

  // TTL honoured below the cap.
  auto long_lived = make_discovery(rig, dnssec_mode::resolver, {64, 3600s, 5s});
  auto found = long_lived->discover("cached._device.danemq.test");
  ASSERT_TRUE(found) << why(found);
  const auto lifetime = (*found)->valid_until - std::chrono::steady_clock::now();
  EXPECT_GT(lifetime, 0s);
  EXPECT_LE(lifetime, 60s);

  for (const auto mode : both_modes) {
    SCOPED_TRACE(std::string("DNSSEC_VALIDATION=") + std::string(to_string(mode)));
    // Caps far above any pause of a loaded machine: a hit is a hit.
    auto source = make_discovery(rig, mode, {64, 3600s, 3600s});
    ASSERT_TRUE(source->discover("cached._device.danemq.test"));
    const auto after_first = source->stats();
    EXPECT_GE(after_first.dns_messages, 1u);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(source->discover("cached._device.danemq.test"));
    const auto after_hits = source->stats();
    EXPECT_EQ(after_hits.dns_messages, after_first.dns_messages);
    EXPECT_EQ(after_hits.cache.hits, 5u);
    EXPECT_EQ(after_hits.lookups, 1u);

    // Negative answers are cached too, briefly.
    EXPECT_TRUE(failed_with(source->discover("gone._device.danemq.test"), errc::nxdomain));
    const auto after_nx = source->stats().dns_messages;
    EXPECT_TRUE(failed_with(source->discover("gone._device.danemq.test"), errc::nxdomain));
    EXPECT_EQ(source->stats().dns_messages, after_nx);

    // An answer capped at 1 s is asked again once the cap has passed (a wait
    // with no upper bound: how late the second lookup comes does not matter).
    auto short_lived = make_discovery(rig, mode, {64, 1s, 1s});
    ASSERT_TRUE(short_lived->discover("cached._device.danemq.test"));
    const auto before_expiry = short_lived->stats();
    std::this_thread::sleep_for(1100ms);
    ASSERT_TRUE(short_lived->discover("cached._device.danemq.test"));
    const auto after_expiry = short_lived->stats();
    EXPECT_GT(after_expiry.dns_messages, before_expiry.dns_messages);
    EXPECT_GE(after_expiry.cache.expired, 1u);
    EXPECT_EQ(after_expiry.lookups, 2u);

    // Concurrent first lookups of one name cost one query: the first asks;
    // the others find its answer cached, or wait briefly for it while it is
    // under way, and are held back (lookup_throttled, retried later) only
    // when it takes longer for a name that never resolved.
    std::vector<std::thread> threads;
    std::atomic<int> successes{0};
    std::atomic<int> held_back{0};
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&source, &successes, &held_back] {
        auto found = source->discover("busy._device.danemq.test");
        if (found) ++successes;
        if (failed_with(found, errc::lookup_throttled)) ++held_back;
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_GE(successes.load(), 1);
    EXPECT_EQ(successes.load() + held_back.load(), 8);
    EXPECT_EQ(source->stats().lookups, 3u);
    EXPECT_TRUE(source->discover("busy._device.danemq.test"));
    EXPECT_EQ(source->stats().lookups, 3u);
  }
}

}  // namespace
}  // namespace danemq::dane
