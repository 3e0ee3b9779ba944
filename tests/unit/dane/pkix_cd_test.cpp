#include "danemq/dane/pkix_cd.hpp"

#include <map>
#include <thread>

#include <boost/asio/ip/address.hpp>

#include <gtest/gtest.h>

#include "support/test_certificates.hpp"

namespace danemq::dane {
namespace {

using std::chrono::system_clock;
constexpr const char* name = "abc123._device.example.net";

bool failed_with(const auto& r, errc code) {
  return !r && r.error().code == make_error_code(code);
}

/// CA certificates by "<authority>/<key id>", counting fetches.
class map_ca_source final : public ca_source {
 public:
  void publish(const std::string& authority, const X509& cert) {
    certs_[authority + "/" + key_id_text(*subject_key_id(cert))] = crypto::to_pem(cert);
  }
  void publish_at(const std::string& authority, const std::string& key_id, const X509& cert) {
    certs_[authority + "/" + key_id] = crypto::to_pem(cert);
  }
  result<crypto::unique_x509> fetch(std::string_view authority, std::string_view key_id,
                                    std::chrono::steady_clock::time_point deadline) override {
    ++fetches;
    last_deadline = deadline;
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    auto found = certs_.find(std::string(authority) + "/" + std::string(key_id));
    if (found == certs_.end()) return fail(errc::pkix_failed, "404 for " + std::string(key_id));
    return crypto::certificate_from_pem(found->second);
  }
  int fetches{0};
  std::chrono::milliseconds delay{0};  ///< each fetch takes this long
  std::chrono::steady_clock::time_point last_deadline{};

 private:
  std::map<std::string, std::string> certs_;
};

struct hierarchy {
  testing::issued root = testing::make_certificate({"Test Root", {}, true});
  testing::issued intermediate = testing::make_certificate({"Test Intermediate", {}, true}, &root);
  testing::issued leaf = testing::make_certificate({name, {name}, false}, &intermediate);
};

TEST(PkixCdAuthority, CutsAtTheFirstUnderscoreLabelFromTheRight) {
  EXPECT_EQ(*authority_host("abc123._device.example.net"), "device.example.net");
  EXPECT_EQ(*authority_host("a._b.c._device.example.net"), "device.example.net");
  EXPECT_EQ(*authority_host("x._service.example"), "service.example");
  EXPECT_TRUE(failed_with(authority_host("abc123.device.example.net"), errc::pkix_failed));
  EXPECT_TRUE(failed_with(authority_host("abc._.example.net"), errc::pkix_failed));
}

TEST(PkixCdAuthority, WritesKeyIdsAsTheOriginalDoes) {
  EXPECT_EQ(key_id_text(crypto::bytes{0xab, 0x01, 0xff}), "ab-01-ff");
  EXPECT_EQ(key_id_text(crypto::bytes{}), "");
  EXPECT_EQ(ca_certificate_path("ab-01"), "/.well-known/ca/ab-01.pem");
}

TEST(PkixCdAuthority, ReadsKeyIdentifiers) {
  hierarchy pki;
  auto aki = authority_key_id(*pki.leaf.cert);
  ASSERT_TRUE(aki);
  EXPECT_EQ(*aki, *subject_key_id(*pki.intermediate.cert));
  auto bare = testing::make_identity(name);
  X509_EXTENSION_free(
      X509_delete_ext(bare.cert.get(), X509_get_ext_by_NID(bare.cert.get(), NID_authority_key_identifier, -1)));
  EXPECT_TRUE(failed_with(authority_key_id(*bare.cert), errc::pkix_failed));
}

TEST(PkixCdChain, WalksUpToTheSelfSignedRoot) {
  hierarchy pki;
  map_ca_source source;
  source.publish("device.example.net", *pki.intermediate.cert);
  source.publish("device.example.net", *pki.root.cert);
  auto chain = fetch_ca_chain(*pki.leaf.cert, name, source);
  ASSERT_TRUE(chain) << chain.error().message();
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_EQ(X509_cmp((*chain)[1].get(), pki.root.cert.get()), 0);
  EXPECT_TRUE(verify_pkix_cd(*pki.leaf.cert, name, *chain, system_clock::now()));
}

TEST(PkixCdChain, FailsWhenAParentIsMissingOrServedUnderAnotherKeyId) {
  hierarchy pki;
  map_ca_source source;
  source.publish("device.example.net", *pki.intermediate.cert);
  EXPECT_TRUE(failed_with(fetch_ca_chain(*pki.leaf.cert, name, source), errc::pkix_failed));

  map_ca_source swapped;
  // The root served where the intermediate is expected.
  swapped.publish_at("device.example.net", key_id_text(*subject_key_id(*pki.intermediate.cert)), *pki.root.cert);
  auto chain = fetch_ca_chain(*pki.leaf.cert, name, swapped);
  ASSERT_TRUE(failed_with(chain, errc::pkix_failed));
  EXPECT_NE(chain.error().detail.find("SubjectKeyIdentifier"), std::string::npos);
}

TEST(PkixCdChain, HasOneDeadlineForTheWholeChain) {
  using namespace std::chrono_literals;
  hierarchy pki;
  map_ca_source source;
  source.publish("device.example.net", *pki.intermediate.cert);
  source.publish("device.example.net", *pki.root.cert);
  source.delay = 50ms;
  const auto deadline = std::chrono::steady_clock::now() + 20ms;
  auto chain = fetch_ca_chain(*pki.leaf.cert, name, source, 8, deadline);
  ASSERT_TRUE(failed_with(chain, errc::pkix_failed));
  EXPECT_NE(chain.error().detail.find("in time"), std::string::npos) << chain.error().detail;
  EXPECT_EQ(source.fetches, 1);  // the root is not asked once the deadline passed
  EXPECT_EQ(source.last_deadline, deadline);

  map_ca_source late;
  late.publish("device.example.net", *pki.intermediate.cert);
  EXPECT_TRUE(failed_with(fetch_ca_chain(*pki.leaf.cert, name, late, 8, std::chrono::steady_clock::now() - 1ms),
                          errc::pkix_failed));
  EXPECT_EQ(late.fetches, 0);
}

TEST(PkixCdChain, StopsAtItsDepthBound) {
  hierarchy pki;
  map_ca_source source;
  source.publish("device.example.net", *pki.intermediate.cert);
  source.publish("device.example.net", *pki.root.cert);
  EXPECT_TRUE(failed_with(fetch_ca_chain(*pki.leaf.cert, name, source, 1), errc::pkix_failed));
  EXPECT_EQ(source.fetches, 1);
}

TEST(PkixCdVerify, RefusesAWrongNameAnExpiredLeafAndAForeignRoot) {
  hierarchy pki;
  map_ca_source source;
  source.publish("device.example.net", *pki.intermediate.cert);
  source.publish("device.example.net", *pki.root.cert);
  auto chain = fetch_ca_chain(*pki.leaf.cert, name, source);
  ASSERT_TRUE(chain);

  auto wrong_name = verify_pkix_cd(*pki.leaf.cert, "other._device.example.net", *chain, system_clock::now());
  ASSERT_TRUE(failed_with(wrong_name, errc::pkix_failed));
  EXPECT_NE(wrong_name.error().detail.find("SubjectAltName"), std::string::npos);

  EXPECT_TRUE(failed_with(verify_pkix_cd(*pki.leaf.cert, name, *chain, system_clock::now() + std::chrono::hours(48)),
                          errc::pkix_failed));

  hierarchy other;
  std::vector<crypto::unique_x509> foreign;
  foreign.emplace_back(X509_dup(other.intermediate.cert.get()));
  foreign.emplace_back(X509_dup(other.root.cert.get()));
  EXPECT_TRUE(failed_with(verify_pkix_cd(*pki.leaf.cert, name, foreign, system_clock::now()), errc::pkix_failed));
  EXPECT_TRUE(failed_with(verify_pkix_cd(*pki.leaf.cert, name, {}, system_clock::now()), errc::pkix_failed));
}

}  // namespace
}  // namespace danemq::dane

namespace danemq::dane {
namespace {

bool global(const char* text) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(text, ec);
  EXPECT_FALSE(ec) << text;
  if (address.is_v4()) return is_global_address(address.to_v4().to_bytes());
  return is_global_address(address.to_v6().to_bytes());
}

TEST(PkixCdAuthorityAddress, OnlyGlobalAddressesAreGlobal) {
  for (const char* text : {"93.184.216.34", "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "192.169.0.1",
                           "2606:4700::1111", "2a00:1450:4001::1", "::ffff:8.8.8.8", "64:ff9b::808:808"}) {
    EXPECT_TRUE(global(text)) << text;
  }
  for (const char* text :
       {"0.0.0.0",      "127.0.0.1",        "127.53.0.9",      "10.1.2.3",        "172.16.0.1",      "172.31.255.255",
        "192.168.1.1",  "100.64.0.1",       "100.127.255.255", "169.254.169.254", "192.0.2.1",       "198.18.0.1",
        "198.51.100.7", "203.0.113.9",      "224.0.0.1",       "239.255.255.250", "255.255.255.255", "::",
        "::1",          "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1",  "fc00::1",         "fd12:3456::1",
        "fe80::1",      "febf::1",          "ff02::1",         "2001:db8::1"}) {
    EXPECT_FALSE(global(text)) << text;
  }
  EXPECT_FALSE(is_global_address(std::vector<std::uint8_t>{1, 2, 3}));
}

}  // namespace
}  // namespace danemq::dane
