#include "danemq/dane/trust.hpp"

#include <gtest/gtest.h>

#include "support/test_certificates.hpp"

namespace danemq::dane {
namespace {

using identity::make_tlsa_record;
using identity::tlsa_record;
using std::chrono::system_clock;

constexpr const char* name = "abc123._device.example.net";

bool failed_with(const auto& r, errc code) {
  return !r && r.error().code == make_error_code(code);
}

tlsa_record record_of(const testing::issued& id, std::uint8_t usage, std::uint8_t selector, std::uint8_t matching) {
  return *make_tlsa_record(*id.cert, usage, selector, matching);
}

trust_input secure(std::vector<tlsa_record> records) {
  return {name, dnssec_status::secure, std::move(records), system_clock::now()};
}

TEST(TrustDecision, SecureDaneEeCertificateYieldsCertificateAndKey) {
  auto id = testing::make_identity(name);
  auto decision = decide_trust(secure({record_of(id, 3, 0, 0)}), {});
  ASSERT_EQ(decision.keys.size(), 1u);
  ASSERT_TRUE(decision.keys[0].certificate);
  EXPECT_EQ(X509_cmp(decision.keys[0].certificate.get(), id.cert.get()), 0);
  EXPECT_TRUE(crypto::same_public_key(*decision.keys[0].public_key, *id.key));
  EXPECT_EQ(decision.keys[0].record, record_of(id, 3, 0, 0));
  EXPECT_TRUE(decision_status(secure({}), decision));
}

TEST(TrustDecision, SecureDaneEeKeyYieldsTheKeyOnly) {
  auto id = testing::make_identity(name, testing::test_key::rsa_2048);
  auto decision = decide_trust(secure({record_of(id, 3, 1, 0)}), {});
  ASSERT_EQ(decision.keys.size(), 1u);
  EXPECT_FALSE(decision.keys[0].certificate);
  EXPECT_TRUE(crypto::same_public_key(*decision.keys[0].public_key, *id.key));
}

TEST(TrustDecision, DaneEeIgnoresNamesAndDates) {
  // RFC 7671 section 5.1: the signed record is the binding.
  auto expired_elsewhere = testing::make_certificate(
      {"someone.else", {"someone.else"}, false, std::chrono::hours(-48), std::chrono::hours(-24)});
  auto decision = decide_trust(secure({record_of(expired_elsewhere, 3, 0, 0)}), {});
  EXPECT_EQ(decision.keys.size(), 1u);
}

TEST(TrustDecision, RefusesDaneEeAndPkixEeWithoutDnssec) {
  auto id = testing::make_identity(name);
  for (const auto status : {dnssec_status::insecure, dnssec_status::indeterminate}) {
    trust_input input{name, status, {record_of(id, 3, 0, 0), record_of(id, 1, 0, 0)}, system_clock::now()};
    auto decision = decide_trust(input, {});
    EXPECT_TRUE(decision.keys.empty());
    ASSERT_EQ(decision.verdicts.size(), 2u);
    EXPECT_TRUE(decision.verdicts[0].problem);
    auto status_result = decision_status(input, decision);
    EXPECT_TRUE(failed_with(status_result, errc::insecure));
  }
}

TEST(TrustDecision, RefusesEverythingWhenBogus) {
  auto id = testing::make_identity(name);
  trust_input input{name, dnssec_status::bogus, {record_of(id, 3, 0, 0)}, system_clock::now()};
  bool pkix_called = false;
  auto decision = decide_trust(input, [&pkix_called](const X509&, std::string_view) -> result<void> {
    pkix_called = true;
    return ok();
  });
  EXPECT_TRUE(decision.keys.empty());
  EXPECT_FALSE(pkix_called);
  EXPECT_TRUE(failed_with(decision_status(input, decision), errc::bogus));
}

TEST(TrustDecision, HashRecordsOnlyConfirmAPresentedCertificate) {
  auto id = testing::make_identity(name);
  auto input = secure({record_of(id, 3, 1, 1), record_of(id, 3, 0, 2)});
  auto decision = decide_trust(input, {});
  EXPECT_TRUE(decision.keys.empty());
  EXPECT_EQ(decision.confirming_records.size(), 2u);
  EXPECT_TRUE(decision.verdicts[0].confirm_only);
  EXPECT_TRUE(decision_status(input, decision));

  dane_identity identity;
  identity.name = name;
  identity.confirming_records = decision.confirming_records;
  auto confirmed = confirm_presented_certificate(identity, *id.cert, system_clock::now());
  ASSERT_TRUE(confirmed) << confirmed.error().message();
  EXPECT_TRUE(crypto::same_public_key(*confirmed->public_key, *id.key));
  EXPECT_EQ(X509_cmp(confirmed->certificate.get(), id.cert.get()), 0);

  auto stranger = testing::make_identity(name);
  EXPECT_TRUE(
      failed_with(confirm_presented_certificate(identity, *stranger.cert, system_clock::now()), errc::no_match));
}

TEST(TrustDecision, MalformedRecordsDoNotSpoilTheGoodOnesBesideThem) {
  auto id = testing::make_identity(name);
  auto input = secure({tlsa_record{3, 0, 0, crypto::bytes{1, 2, 3}}, tlsa_record{3, 1, 1, crypto::bytes(5, 0)},
                       record_of(id, 3, 1, 0), tlsa_record{7, 1, 1, crypto::bytes(32, 0)}});
  auto decision = decide_trust(input, {});
  ASSERT_EQ(decision.keys.size(), 1u);
  ASSERT_EQ(decision.verdicts.size(), 4u);
  EXPECT_TRUE(failed_with(result<void>(*decision.verdicts[0].problem), errc::malformed_record));
  EXPECT_TRUE(failed_with(result<void>(*decision.verdicts[1].problem), errc::malformed_record));
  EXPECT_FALSE(decision.verdicts[2].problem);
  EXPECT_TRUE(failed_with(result<void>(*decision.verdicts[3].problem), errc::malformed_record));
}

TEST(TrustDecision, AnEmptyOrWhollyUnusableSetFailsClosed) {
  auto empty = secure({});
  EXPECT_TRUE(failed_with(decision_status(empty, decide_trust(empty, {})), errc::no_usable_record));
  auto bad = secure({tlsa_record{3, 0, 0, crypto::bytes{1, 2, 3}}, tlsa_record{2, 0, 1, crypto::bytes(32, 0)}});
  auto status = decision_status(bad, decide_trust(bad, {}));
  ASSERT_TRUE(failed_with(status, errc::no_usable_record));
  EXPECT_NE(status.error().detail.find("DANE-TA"), std::string::npos);
}

TEST(TrustDecision, TrustAnchorUsagesAreNotUsedForIdentities) {
  auto id = testing::make_identity(name);
  auto decision = decide_trust(secure({record_of(id, 0, 0, 0), record_of(id, 2, 0, 0)}), {});
  EXPECT_TRUE(decision.keys.empty());
  EXPECT_TRUE(failed_with(result<void>(*decision.verdicts[1].problem), errc::unsupported_record));
}

TEST(TrustDecision, PkixEeChecksNamesAndDates) {
  auto good = testing::make_identity(name);
  auto expired =
      testing::make_identity(name, testing::test_key::ec_p256, std::chrono::hours(-48), std::chrono::hours(-1));
  auto other_name = testing::make_identity("other._device.example.net");
  auto decision = decide_trust(secure({record_of(good, 1, 0, 0), record_of(expired, 1, 0, 0),
                                       record_of(other_name, 1, 0, 0), record_of(good, 1, 1, 0)}),
                               {});
  ASSERT_EQ(decision.keys.size(), 1u);
  EXPECT_EQ(X509_cmp(decision.keys[0].certificate.get(), good.cert.get()), 0);
  EXPECT_NE(decision.verdicts[1].problem->detail.find("expired"), std::string::npos);
  EXPECT_NE(decision.verdicts[2].problem->detail.find("SubjectAltName"), std::string::npos);
  EXPECT_TRUE(failed_with(result<void>(*decision.verdicts[3].problem), errc::unsupported_record));
}

TEST(TrustDecision, PkixCdNeedsDnssecBeforeItFetchesAnything) {
  auto identity = testing::make_identity(name);
  int checks = 0;
  auto check = [&checks](const X509&, std::string_view) -> result<void> {
    ++checks;
    return ok();
  };
  for (const auto status : {dnssec_status::insecure, dnssec_status::indeterminate}) {
    auto decision = decide_trust(trust_input{name, status, {record_of(identity, 4, 0, 0)}, system_clock::now()}, check);
    EXPECT_TRUE(decision.keys.empty());
    ASSERT_EQ(decision.verdicts.size(), 1u);
    EXPECT_TRUE(failed_with(result<void>(*decision.verdicts[0].problem), errc::insecure));
  }
  EXPECT_EQ(checks, 0);
}

TEST(TrustDecision, PkixCdCountsOnlyWhenItsCheckPasses) {
  auto accepted = testing::make_identity(name);
  auto rejected = testing::make_identity(name);
  trust_input input{name,
                    dnssec_status::secure,
                    {record_of(accepted, 4, 0, 0), record_of(rejected, 4, 0, 0), record_of(accepted, 4, 1, 0)},
                    system_clock::now()};
  auto check = [&accepted](const X509& cert, std::string_view identity_name) -> result<void> {
    EXPECT_EQ(identity_name, name);
    if (X509_cmp(&cert, accepted.cert.get()) == 0) return ok();
    return fail(errc::pkix_failed, "not chained");
  };
  auto decision = decide_trust(input, check);
  ASSERT_EQ(decision.keys.size(), 1u);
  EXPECT_EQ(X509_cmp(decision.keys[0].certificate.get(), accepted.cert.get()), 0);
  EXPECT_TRUE(failed_with(result<void>(*decision.verdicts[1].problem), errc::pkix_failed));
  EXPECT_TRUE(failed_with(result<void>(*decision.verdicts[2].problem), errc::unsupported_record));
  // Without a checker PKIX-CD is unusable.
  EXPECT_TRUE(decide_trust(input, {}).keys.empty());
}

TEST(TrustDecision, RolloverOffersEveryValidKeyInAnOrderIndependentOfDns) {
  auto current = testing::make_identity(name);
  auto next = testing::make_identity(name);
  auto one = decide_trust(secure({record_of(current, 3, 0, 0), record_of(next, 3, 0, 0)}), {});
  auto other = decide_trust(secure({record_of(next, 3, 0, 0), record_of(current, 3, 0, 0)}), {});
  ASSERT_EQ(one.keys.size(), 2u);
  ASSERT_EQ(other.keys.size(), 2u);
  EXPECT_EQ(X509_cmp(one.keys[0].certificate.get(), other.keys[0].certificate.get()), 0);
  EXPECT_EQ(X509_cmp(one.keys[1].certificate.get(), other.keys[1].certificate.get()), 0);
}

TEST(TrustDecision, DuringARotationTheNewestCertificateComesFirstAndBareKeysKeepTheirOrder) {
  auto older = testing::make_certificate({name, {name}, false, std::chrono::hours(-48), std::chrono::hours(24)});
  auto newer = testing::make_certificate({name, {name}, false, std::chrono::hours(-1), std::chrono::hours(24)});
  for (const auto& records : {std::vector{record_of(older, 3, 0, 0), record_of(newer, 3, 0, 0)},
                              std::vector{record_of(newer, 3, 0, 0), record_of(older, 3, 0, 0)}}) {
    auto decision = decide_trust(secure(records), {});
    ASSERT_EQ(decision.keys.size(), 2u);
    EXPECT_EQ(X509_cmp(decision.keys[0].certificate.get(), newer.cert.get()), 0) << "encrypt to the newest";
  }
  auto bare = decide_trust(secure({record_of(newer, 3, 1, 0), record_of(older, 3, 1, 0)}), {});
  auto swapped = decide_trust(secure({record_of(older, 3, 1, 0), record_of(newer, 3, 1, 0)}), {});
  ASSERT_EQ(bare.keys.size(), 2u);
  EXPECT_EQ(bare.keys[0].record, swapped.keys[0].record);
  EXPECT_LT(bare.keys[0].record.data, bare.keys[1].record.data);
}

TEST(TrustDecision, PrefersDaneEeAndOffersAKeyPublishedTwiceOnce) {
  auto id = testing::make_identity(name);
  auto decision = decide_trust(secure({record_of(id, 1, 0, 0), record_of(id, 3, 0, 0), record_of(id, 3, 0, 0)}), {});
  ASSERT_EQ(decision.keys.size(), 1u);
  EXPECT_EQ(decision.keys[0].record.usage, 3);
}

TEST(ConfirmPresentedCertificate, MatchesKeysAndChecksPkixEeHashes) {
  auto id = testing::make_identity(name);
  auto decision = decide_trust(secure({record_of(id, 3, 1, 0)}), {});
  dane_identity identity{name, std::move(decision.keys), true, {}, {}};
  EXPECT_TRUE(confirm_presented_certificate(identity, *id.cert, system_clock::now()));

  auto expired =
      testing::make_identity(name, testing::test_key::ec_p256, std::chrono::hours(-48), std::chrono::hours(-1));
  dane_identity pkix{name, {}, true, {}, {record_of(expired, 1, 0, 1)}};
  EXPECT_TRUE(failed_with(confirm_presented_certificate(pkix, *expired.cert, system_clock::now()), errc::pkix_failed));
  dane_identity dane_ee{name, {}, true, {}, {record_of(expired, 3, 0, 1)}};
  EXPECT_TRUE(confirm_presented_certificate(dane_ee, *expired.cert, system_clock::now()));
}

TEST(RecordMatch, ComparesAssociationData) {
  auto id = testing::make_identity(name);
  auto other = testing::make_identity(name);
  EXPECT_TRUE(record_matches_certificate(record_of(id, 3, 1, 1), *id.cert));
  EXPECT_FALSE(record_matches_certificate(record_of(id, 3, 1, 1), *other.cert));
  EXPECT_FALSE(record_matches_certificate(tlsa_record{3, 5, 1, {}}, *id.cert));
}

TEST(NameAndDates, NeedTheNameInTheSan) {
  auto id = testing::make_identity(name);
  EXPECT_TRUE(check_name_and_dates(*id.cert, "ABC123._device.EXAMPLE.net", system_clock::now()));
  EXPECT_TRUE(
      failed_with(check_name_and_dates(*id.cert, "x._device.example.net", system_clock::now()), errc::pkix_failed));
  EXPECT_TRUE(failed_with(check_name_and_dates(*id.cert, name, system_clock::now() + std::chrono::hours(48)),
                          errc::pkix_failed));
}

}  // namespace
}  // namespace danemq::dane
