// PKIX-CD without DNSSEC: the identity's CA chain is fetched over HTTPS from
// its authority (a real `openssl s_server -WWW` with a test web CA), the
// authority's address from the DNS rig.

#include <fstream>

#include <gtest/gtest.h>

#include "danemq/dane/discovery.hpp"
#include "danemq/dane/pkix_cd.hpp"
#include "danemq/identity/tlsa_record.hpp"
#include "support/dns_rig.hpp"
#include "support/test_certificates.hpp"

namespace danemq::dane {
namespace {

using namespace std::chrono_literals;
using testing::certificate_spec;
using testing::issued;
using testing::make_certificate;

bool failed_with(const auto& r, errc code) {
  return !r && r.error().code == make_error_code(code);
}
std::string why(const auto& r) {
  return r ? std::string("success") : r.error().message();
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string tlsa_line(const std::string& name, const issued& id, int usage) {
  return identity::zone_file_line(name, *identity::make_tlsa_record(*id.cert, static_cast<std::uint8_t>(usage), 0, 0),
                                  60);
}

/// The authority's web server: serves <root>/.well-known/ca/<key id>.pem.
class authority_server {
 public:
  authority_server(const std::string& host, const issued& web_ca) {
    const auto server = make_certificate({host, {host}, false}, &web_ca);
    write(dir_.path() / "server.pem", crypto::to_pem(*server.cert));
    write(dir_.path() / "server.key", crypto::private_key_to_pem(*server.key));
    std::filesystem::create_directories(dir_.path() / "www");
    process_ = std::make_unique<test::child_process>(
        std::vector<std::string>{"openssl", "s_server", "-quiet", "-accept", "127.0.0.1:" + std::to_string(port_),
                                 "-cert", (dir_.path() / "server.pem").string(), "-key",
                                 (dir_.path() / "server.key").string(), "-WWW"},
        std::map<std::string, std::string>{}, dir_.path() / "www");
    if (!test::wait_for_tcp_port("127.0.0.1", port_)) throw std::runtime_error("openssl s_server did not start");
  }
  void publish(const X509& ca) {
    write(dir_.path() / "www" / ".well-known" / "ca" / (key_id_text(*subject_key_id(ca)) + ".pem"), crypto::to_pem(ca));
  }
  [[nodiscard]] unsigned short port() const { return port_; }

 private:
  test::temp_dir dir_{"danemq-authority"};
  unsigned short port_{test::free_port()};
  std::unique_ptr<test::child_process> process_;
};

TEST(DanePkixCd, TrustsACertificateChainedToTheAuthoritysCaInASignedZone) {
  const std::string good = "cd1._device.danemq.test";
  const auto web_ca = make_certificate({"Test Web CA", {}, true});
  const auto root = make_certificate({"Device Root", {}, true});
  const auto intermediate = make_certificate({"Device Issuing CA", {}, true}, &root);
  const auto leaf = make_certificate({good, {good}, false}, &intermediate);
  const auto misnamed = make_certificate({"cd2", {"someone._device.danemq.test"}, false}, &intermediate);
  const auto stranger_root = make_certificate({"Unknown Root", {}, true});
  const auto stranger = make_certificate({"cd3", {"cd3._device.danemq.test"}, false}, &stranger_root);
  const auto self_signed = testing::make_identity("cd4._device.unsigned.test");

  const auto insecure_leaf = make_certificate({"cd5", {"cd5._device.unsigned.test"}, false}, &intermediate);
  test::dns_rig rig({.signed_records = {"device.danemq.test. 60 IN A 127.0.0.1", tlsa_line(good, leaf, 4),
                                        tlsa_line("cd2._device.danemq.test", misnamed, 4),
                                        tlsa_line("cd3._device.danemq.test", stranger, 4)},
                     .unsigned_records = {"device.unsigned.test. 60 IN A 127.0.0.1",
                                          tlsa_line("cd4._device.unsigned.test", self_signed, 3),
                                          tlsa_line("cd5._device.unsigned.test", insecure_leaf, 4)}});
  authority_server authority("device.danemq.test", web_ca);
  authority.publish(*intermediate.cert);
  authority.publish(*root.cert);
  test::temp_dir dir;
  const auto web_ca_file = dir.path() / "web-ca.pem";
  write(web_ca_file, crypto::to_pem(*web_ca.cert));

  discovery_config config = rig.discovery_config();
  config.https.trusted_cas = web_ca_file;
  config.https.port = authority.port();
  config.https.timeout = 5s;
  // The authority is on loopback: refused unless private addresses are allowed.
  auto guarded = discovery::create(config);
  ASSERT_TRUE(guarded) << why(guarded);
  auto refused = (*guarded)->discover(good);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().detail.find("non-global"), std::string::npos) << why(refused);
  EXPECT_NE(refused.error().detail.find("PKIX_CD_ALLOW_PRIVATE"), std::string::npos) << why(refused);

  config.https.allow_private_addresses = true;
  auto source = discovery::create(config);
  ASSERT_TRUE(source) << why(source);

  auto found = (*source)->discover(good);
  ASSERT_TRUE(found) << why(found);
  EXPECT_TRUE((*found)->dnssec_secure);
  ASSERT_EQ((*found)->keys.size(), 1u);
  EXPECT_EQ((*found)->keys[0].record.usage, 4);
  EXPECT_EQ(X509_cmp((*found)->keys[0].certificate.get(), leaf.cert.get()), 0);

  auto wrong_name = (*source)->discover("cd2._device.danemq.test");
  ASSERT_FALSE(wrong_name);
  EXPECT_NE(wrong_name.error().detail.find("SubjectAltName"), std::string::npos) << why(wrong_name);

  // s_server answers a missing file with "200" and an error text: refused as not a certificate.
  auto unknown_ca = (*source)->discover("cd3._device.danemq.test");
  ASSERT_TRUE(failed_with(unknown_ca, errc::no_usable_record)) << why(unknown_ca);
  const std::string missing_url = "/.well-known/ca/" + key_id_text(*authority_key_id(*stranger.cert)) + ".pem";
  EXPECT_NE(unknown_ca.error().detail.find(missing_url), std::string::npos) << why(unknown_ca);

  // Neither DANE-EE nor PKIX-CD is trusted from an unsigned zone, and the
  // PKIX-CD record there fetches nothing (the authority would answer).
  EXPECT_TRUE(failed_with((*source)->discover("cd4._device.unsigned.test"), errc::insecure));
  auto insecure = (*source)->discover("cd5._device.unsigned.test");
  ASSERT_FALSE(insecure);
  EXPECT_TRUE(failed_with(insecure, errc::insecure)) << why(insecure);
  EXPECT_EQ(insecure.error().detail.find("https://"), std::string::npos) << why(insecure);

  // An authority whose HTTPS certificate we do not trust is refused.
  const auto other_ca = make_certificate({"Other Web CA", {}, true});
  const auto other_file = dir.path() / "other-ca.pem";
  write(other_file, crypto::to_pem(*other_ca.cert));
  config.https.trusted_cas = other_file;
  auto distrustful = discovery::create(config);
  ASSERT_TRUE(distrustful);
  auto untrusted = (*distrustful)->discover(good);
  ASSERT_FALSE(untrusted);
  EXPECT_NE(untrusted.error().detail.find("TLS handshake"), std::string::npos) << why(untrusted);
}

}  // namespace
}  // namespace danemq::dane
