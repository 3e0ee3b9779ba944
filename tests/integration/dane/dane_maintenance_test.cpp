// danemq-maintenance publish-tlsa, check and lookup against the real Knot and
// Unbound of the DNS rig: the executable as a user runs it.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "danemq/dane/tlsa_rdata.hpp"
#include "danemq/identity/identity_files.hpp"
#include "danemq/identity/tlsa_record.hpp"
#include "support/dns_rig.hpp"
#include "support/test_certificates.hpp"

namespace danemq::dane {
namespace {

using test::command_result;

class maintenance {
 public:
  explicit maintenance(const test::dns_rig& rig) : rig_(rig) {}

  command_result run(const std::string& identity, std::vector<std::string> args,
                     std::map<std::string, std::string> env = {}) const {
    env.emplace("IDENTITY_NAME", identity);
    env.emplace("CRYPTO_PATH", crypto_.path().string());
    for (const auto& setting : rig_.service_env()) env.insert(setting);
    env.emplace("DNS_UPDATE_SERVER", rig_.authoritative());
    env.emplace("DNS_UPDATE_TSIG", rig_.tsig());
    args.insert(args.begin(), (test::binary_dir() / "danemq-maintenance").string());
    return test::run_command(args, env, {}, std::chrono::seconds(30));
  }
  [[nodiscard]] std::filesystem::path certificate(const std::string& identity) const {
    return identity::identity_paths::of(crypto_.path(), identity).certificate;
  }

 private:
  const test::dns_rig& rig_;
  test::temp_dir crypto_{"danemq-identity"};
};

std::string all(const command_result& r) {
  return "exit " + std::to_string(r.exit_code) + "\n" + r.out + r.err;
}

TEST(DaneMaintenance, PublishedRecordPassesCheckAndMismatchFails) {
  test::dns_rig rig;
  maintenance tool(rig);
  const std::string name = "dev1._device.danemq.test";

  ASSERT_EQ(tool.run(name, {"create-selfsigned-id", "--key-type", "ec-p256"}).exit_code, 0);
  // Nothing published yet: check fails and says why.
  const auto before = tool.run(name, {"check"});
  EXPECT_EQ(before.exit_code, 3) << all(before);
  EXPECT_NE(before.err.find("NXDOMAIN"), std::string::npos) << all(before);

  const auto published = tool.run(name, {"publish-tlsa"});
  ASSERT_EQ(published.exit_code, 0) << all(published);
  EXPECT_NE(published.out.find("IN TLSA 3 0 0"), std::string::npos) << all(published);
  EXPECT_EQ(published.err.find("not signed"), std::string::npos) << all(published);
  // The resolver still holds the NXDOMAIN of the first check (the zone's negative TTL).
  rig.flush("danemq.test");

  const auto check = tool.run(name, {"check"});
  EXPECT_EQ(check.exit_code, 0) << all(check);
  EXPECT_NE(check.out.find("DNSSEC: secure"), std::string::npos) << all(check);
  EXPECT_NE(check.out.find("matches the local certificate"), std::string::npos) << all(check);

  const auto as_json = tool.run(name, {"check", "--json"});
  EXPECT_EQ(as_json.exit_code, 0) << all(as_json);
  const auto checked = nlohmann::json::parse(as_json.out);
  EXPECT_EQ(checked["verdict"], "trusted");
  EXPECT_EQ(checked["ok"], true);
  EXPECT_EQ(checked["records"][0]["matches_local"], true);
  EXPECT_EQ(checked["local"]["key_type"], "ec-p256");
  const auto looked_up = nlohmann::json::parse(tool.run(name, {"lookup", "--json", name}).out);
  EXPECT_EQ(looked_up["records"][0]["usage"], 3);

  const auto local =
      tool.run(name, {"check"}, {{"DNSSEC_VALIDATION", "local"}, {"DNSSEC_TRUST_ANCHOR", rig.trust_anchor().string()}});
  EXPECT_EQ(local.exit_code, 0) << all(local);

  // DNS disagrees: another certificate is published under the name.
  const auto stranger = testing::make_identity(name);
  const auto foreign = *identity::make_tlsa_record(*stranger.cert, 3, 0, 0);
  rig.update("danemq.test",
             {"update delete " + name + ". TLSA", "update add " + identity::zone_file_line(name, foreign, 60)});
  const auto mismatch = tool.run(name, {"check"});
  EXPECT_EQ(mismatch.exit_code, 3) << all(mismatch);
  EXPECT_NE(mismatch.out.find("does not match the local certificate"), std::string::npos) << all(mismatch);
  EXPECT_NE(mismatch.err.find("no usable TLSA record matches the local certificate"), std::string::npos)
      << all(mismatch);

  // lookup shows any name's records; its exit code says whether they are usable.
  const auto lookup = tool.run(name, {"lookup", name});
  EXPECT_EQ(lookup.exit_code, 0) << all(lookup);
  EXPECT_NE(lookup.out.find("3 0 0 (DANE-EE"), std::string::npos) << all(lookup);
  EXPECT_NE(lookup.out.find("Verdict: trusted"), std::string::npos) << all(lookup);

  // A hash record alone gives peers no key: check fails even though it matches.
  const auto own_hash =
      *identity::make_tlsa_record(*identity::load_certificate(tool.certificate(name)).value(), 3, 1, 1);
  rig.update("danemq.test",
             {"update delete " + name + ". TLSA", "update add " + identity::zone_file_line(name, own_hash, 60)});
  const auto hash_only = tool.run(name, {"check"});
  EXPECT_EQ(hash_only.exit_code, 3) << all(hash_only);
  EXPECT_NE(hash_only.out.find("[0] matches the local certificate"), std::string::npos) << all(hash_only);
  EXPECT_NE(hash_only.err.find("only hash records"), std::string::npos) << all(hash_only);
  // publish-tlsa refuses, without --force, a record no peer can use.
  const auto hash_refused = tool.run(name, {"publish-tlsa", "--selector", "1", "--matching", "1"});
  EXPECT_EQ(hash_refused.exit_code, 1) << all(hash_refused);
  EXPECT_NE(hash_refused.err.find("carries no key"), std::string::npos) << all(hash_refused);
  EXPECT_NE(hash_refused.err.find("--force"), std::string::npos) << all(hash_refused);
  const auto hash_forced = tool.run(name, {"publish-tlsa", "--selector", "1", "--matching", "1", "--force"});
  EXPECT_EQ(hash_forced.exit_code, 0) << all(hash_forced);
  EXPECT_NE(hash_forced.err.find("warning: TLSA 3 1 1"), std::string::npos) << all(hash_forced);
  const auto missing = tool.run(name, {"lookup", "nobody._device.danemq.test"});
  EXPECT_EQ(missing.exit_code, 3) << all(missing);
}

TEST(DaneMaintenance, CheckRefusesAnUnsignedZoneAndPublishNeedsTheKey) {
  test::dns_rig rig;
  maintenance tool(rig);
  const std::string name = "dev2._device.unsigned.test";
  ASSERT_EQ(tool.run(name, {"create-selfsigned-id", "--key-type", "ec-p256"}).exit_code, 0);
  const auto published = tool.run(name, {"publish-tlsa"});
  ASSERT_EQ(published.exit_code, 0) << all(published);
  EXPECT_NE(published.err.find("warning: the zone unsigned.test is not signed"), std::string::npos) << all(published);
  const auto check = tool.run(name, {"check"});
  EXPECT_EQ(check.exit_code, 3) << all(check);
  EXPECT_NE(check.err.find("not DNSSEC-secure"), std::string::npos) << all(check);

  const auto no_key = tool.run(name, {"publish-tlsa"}, {{"DNS_UPDATE_TSIG", ""}});
  EXPECT_EQ(no_key.exit_code, 1) << all(no_key);
  const auto wrong_key =
      tool.run(name, {"publish-tlsa"}, {{"DNS_UPDATE_TSIG", "hmac-sha256:danemq-update:c2VjcmV0c2VjcmV0c2VjcmV0"}});
  EXPECT_EQ(wrong_key.exit_code, 3) << all(wrong_key);
  EXPECT_EQ(wrong_key.err.find("c2VjcmV0c2VjcmV0c2VjcmV0"), std::string::npos) << "secret leaked: " << all(wrong_key);
}

TEST(DaneMaintenance, PublishTakesTheTsigKeyFromAFileAndWarnsWhenItIsAFlag) {
  test::dns_rig rig;
  maintenance tool(rig);
  const std::string name = "dev3._device.danemq.test";
  ASSERT_EQ(tool.run(name, {"create-selfsigned-id", "--key-type", "ec-p256"}).exit_code, 0);
  test::temp_dir secrets;
  const auto key_file = secrets.path() / "tsig.key";
  {
    std::ofstream file(key_file);
    file << rig.tsig() << "\n";
  }
  std::filesystem::permissions(key_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  const auto from_file =
      tool.run(name, {"publish-tlsa"}, {{"DNS_UPDATE_TSIG", ""}, {"DNS_UPDATE_TSIG_FILE", key_file.string()}});
  ASSERT_EQ(from_file.exit_code, 0) << all(from_file);
  EXPECT_EQ(from_file.err.find("warning"), std::string::npos) << all(from_file);

  const auto both = tool.run(name, {"publish-tlsa"}, {{"DNS_UPDATE_TSIG_FILE", key_file.string()}});
  EXPECT_EQ(both.exit_code, 1) << all(both);
  EXPECT_NE(both.err.find("both set"), std::string::npos) << all(both);

  const auto as_flag = tool.run(name, {"--dns-update-tsig", rig.tsig(), "publish-tlsa"}, {{"DNS_UPDATE_TSIG", ""}});
  EXPECT_EQ(as_flag.exit_code, 0) << all(as_flag);
  EXPECT_NE(as_flag.err.find("warning: --dns-update-tsig puts the TSIG secret on the command line"), std::string::npos)
      << all(as_flag);

  const auto missing = tool.run(
      name, {"publish-tlsa"}, {{"DNS_UPDATE_TSIG", ""}, {"DNS_UPDATE_TSIG_FILE", (secrets.path() / "none").string()}});
  EXPECT_EQ(missing.exit_code, 1) << all(missing);
  EXPECT_NE(missing.err.find("DNS_UPDATE_TSIG_FILE"), std::string::npos) << all(missing);
}

}  // namespace
}  // namespace danemq::dane
