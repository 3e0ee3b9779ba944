#include "maintenance_app.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "danemq/identity/identity_files.hpp"
#include "danemq/jose/mqtt_token.hpp"
#include "support/process.hpp"
#include "support/test_certificates.hpp"

namespace danemq::maintenance {
namespace {

struct outcome {
  int exit_code;
  std::string out;
  std::string err;
};

outcome run_app(std::vector<std::string> args) {
  std::ostringstream out;
  std::ostringstream err;
  maintenance_app app(out, err);
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  const int code = app.run(static_cast<int>(argv.size()), argv.data());
  return {code, out.str(), err.str()};
}

class Maintenance : public ::testing::Test {
 protected:
  outcome run(const std::string& command, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"danemq-maintenance", command, "--identity-name", name, "--crypto-path",
                                  dir.path().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_app(args);
  }
  std::string slurp(const std::filesystem::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  test::temp_dir dir;
  std::string name{"alice.example.net"};
  identity::identity_paths paths{identity::identity_paths::of(dir.path(), name)};
};

TEST_F(Maintenance, CreatesAnIdentityWithPrivateKeyMode0600) {
  auto created = run("create-selfsigned-id");
  ASSERT_EQ(created.exit_code, exit_success) << created.err;
  struct stat info {};
  ASSERT_EQ(stat(paths.key.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600U);
  EXPECT_TRUE(identity::load_local_identity(dir.path(), name));
  EXPECT_EQ(slurp(paths.key).find("PRIVATE KEY"), std::string("-----BEGIN ").size());
  EXPECT_EQ(created.out.find("PRIVATE"), std::string::npos) << "key material must never be printed";
}

TEST_F(Maintenance, RenewAndRotateRefuseACaSignedIdentityAndLeaveItAsItIs) {
  dane::testing::certificate_spec authority;
  authority.common_name = "Test CA";
  authority.is_ca = true;
  const auto ca = dane::testing::make_certificate(authority);
  dane::testing::certificate_spec device;
  device.common_name = name;
  device.dns_names = {name};
  const auto leaf = dane::testing::make_certificate(device, &ca);
  {
    std::ofstream key(paths.key);
    key << crypto::private_key_to_pem(*leaf.key);
  }
  ::chmod(paths.key.c_str(), 0600);
  {
    std::ofstream certificate(paths.certificate);
    certificate << crypto::to_pem(*leaf.cert);
  }
  const auto before = slurp(paths.certificate);
  for (const auto& command : {std::vector<std::string>{"renew"}, std::vector<std::string>{"rotate", "begin"}}) {
    std::vector<std::string> args{"danemq-maintenance"};
    args.insert(args.end(), command.begin(), command.end());
    args.insert(args.end(), {"--identity-name", name, "--crypto-path", dir.path().string()});
    const auto refused = run_app(args);
    EXPECT_EQ(refused.exit_code, exit_usage) << refused.err;
    EXPECT_NE(refused.err.find("is signed by a CA (PKIX-CD"), std::string::npos) << refused.err;
    EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;
    EXPECT_EQ(slurp(paths.certificate), before) << "the CA's certificate is kept";
    EXPECT_FALSE(std::filesystem::exists(dir.path() / (name + ".next.key.pem")));
  }
}

TEST_F(Maintenance, LookupOfSomethingThatIsNoDnsNameIsAUsageError) {
  const auto refused = run_app({"danemq-maintenance", "lookup", "bad name!"});
  EXPECT_EQ(refused.exit_code, exit_usage) << refused.err;
  EXPECT_NE(refused.err.find("lookup 'bad name!': invalid DNS name"), std::string::npos) << refused.err;
  EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;
}

TEST_F(Maintenance, GenerateTlsaPrintsTheOriginalsLine) {
  ASSERT_EQ(run("create-selfsigned-id").exit_code, exit_success);
  auto tlsa = run("generate-tlsa");
  ASSERT_EQ(tlsa.exit_code, exit_success) << tlsa.err;
  EXPECT_EQ(tlsa.out.rfind("TLSA record for alice.example.net: 3 0 0 30", 0), 0U) << tlsa.out;
  EXPECT_NE(tlsa.out.find("\nalice.example.net. 3600 IN TLSA 3 0 0 30"), std::string::npos) << tlsa.out;
}

TEST_F(Maintenance, GenerateTlsaRendersOtherParameters) {
  ASSERT_EQ(run("create-selfsigned-id", {"--key-type", "ec-p256"}).exit_code, exit_success);
  auto tlsa = run("generate-tlsa", {"--selector", "1", "--matching", "1"});
  ASSERT_EQ(tlsa.exit_code, exit_success) << tlsa.err;
  const std::string prefix = "TLSA record for alice.example.net: 3 1 1 ";
  ASSERT_EQ(tlsa.out.rfind(prefix, 0), 0U);
  EXPECT_EQ(tlsa.out.find('\n'), prefix.size() + 64) << "a SHA-256 is 64 hex digits";
  EXPECT_EQ(run("generate-tlsa", {"--usage", "7"}).exit_code, exit_usage);
}

TEST_F(Maintenance, NeverOverwritesAKeyWithoutForce) {
  ASSERT_EQ(run("create-selfsigned-id").exit_code, exit_success);
  const auto key_before = slurp(paths.key);
  const auto cert_before = slurp(paths.certificate);
  auto again = run("create-selfsigned-id");
  EXPECT_EQ(again.exit_code, exit_identity_files);
  EXPECT_NE(again.err.find("already exists"), std::string::npos);
  EXPECT_EQ(slurp(paths.key), key_before);
  EXPECT_EQ(slurp(paths.certificate), cert_before);

  ASSERT_EQ(run("create-selfsigned-id", {"--force"}).exit_code, exit_success);
  EXPECT_NE(slurp(paths.key), key_before);
}

TEST_F(Maintenance, CsrReusesTheExistingKey) {
  ASSERT_EQ(run("create-selfsigned-id").exit_code, exit_success);
  const auto key_before = slurp(paths.key);
  auto csr = run("create-id-csr");
  ASSERT_EQ(csr.exit_code, exit_success) << csr.err;
  EXPECT_EQ(slurp(paths.key), key_before);
  EXPECT_NE(slurp(paths.csr).find("BEGIN CERTIFICATE REQUEST"), std::string::npos);
  struct stat info {};
  ASSERT_EQ(stat(paths.csr.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600U);
}

TEST_F(Maintenance, CsrMakesAKeyWhenThereIsNone) {
  auto csr = run("create-id-csr", {"--key-type", "ec-p256"});
  ASSERT_EQ(csr.exit_code, exit_success) << csr.err;
  EXPECT_TRUE(std::filesystem::exists(paths.key));
  EXPECT_TRUE(std::filesystem::exists(paths.csr));
}

TEST_F(Maintenance, MqttTokenPrintsATokenTheIdentityKeyVerifies) {
  ASSERT_EQ(run("create-selfsigned-id", {"--key-type", "ec-p256"}).exit_code, exit_success);
  auto printed = run("mqtt-token", {"--audience", "broker.example.net"});
  ASSERT_EQ(printed.exit_code, exit_success) << printed.err;
  ASSERT_FALSE(printed.out.empty());
  EXPECT_EQ(printed.out.back(), '\n');
  auto token = jose::parse_mqtt_token(printed.out.substr(0, printed.out.size() - 1));
  ASSERT_TRUE(token) << token.error().message();
  EXPECT_EQ(token->claims.iss, name);
  EXPECT_EQ(token->claims.aud, "broker.example.net");
  auto local = identity::load_local_identity(dir.path(), name);
  ASSERT_TRUE(local);
  EXPECT_TRUE(jose::verify_mqtt_token(*token, *local->key));
  EXPECT_TRUE(jose::check_mqtt_token_claims(*token, name, {"broker.example.net"}, std::chrono::system_clock::now()));
}

TEST_F(Maintenance, MqttTokenNeedsAnAudienceAndAKey) {
  EXPECT_EQ(run("mqtt-token", {"--audience", "broker"}).exit_code, exit_identity_files);
  ASSERT_EQ(run("create-selfsigned-id").exit_code, exit_success);
  auto missing = run("mqtt-token");
  EXPECT_EQ(missing.exit_code, exit_usage);
  EXPECT_NE(missing.err.find("--audience"), std::string::npos) << missing.err;
}

TEST(MaintenanceSettings, MissingIdentityNameNamesTheVariable) {
  auto missing = run_app({"danemq-maintenance", "generate-tlsa", "--crypto-path", "/nonexistent"});
  EXPECT_EQ(missing.exit_code, exit_usage);
  EXPECT_NE(missing.err.find("IDENTITY_NAME"), std::string::npos);
  EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1) << "one line: " << missing.err;
}

TEST(MaintenanceSettings, InvalidNamesAreRefusedWithTheReason) {
  for (const std::string& bad :
       std::vector<std::string>{"bad..name", std::string(64, 'x') + ".example", "under score!.example"}) {
    auto refused = run_app(
        {"danemq-maintenance", "create-selfsigned-id", "--identity-name", bad, "--crypto-path", "/nonexistent"});
    EXPECT_EQ(refused.exit_code, exit_usage) << bad;
    EXPECT_NE(refused.err.find("IDENTITY_NAME: invalid DNS name"), std::string::npos) << refused.err;
  }
}

TEST(MaintenanceSettings, OriginalCommandNameSelectsTheSubcommand) {
  test::temp_dir dir;
  auto created = run_app(
      {"/usr/local/bin/create_selfsigned_id", "--identity-name", "bob.example", "--crypto-path", dir.path().string()});
  ASSERT_EQ(created.exit_code, exit_success) << created.err;
  auto tlsa = run_app({"generate_tlsa", "--identity-name", "bob.example", "--crypto-path", dir.path().string()});
  EXPECT_EQ(tlsa.out.rfind("TLSA record for bob.example: 3 0 0 ", 0), 0U);
}

TEST(MaintenanceSettings, BadKeyTypeIsAUsageError) {
  test::temp_dir dir;
  auto refused = run_app({"danemq-maintenance", "create-selfsigned-id", "--identity-name", "a.example", "--crypto-path",
                          dir.path().string(), "--key-type", "dsa"});
  EXPECT_EQ(refused.exit_code, exit_usage);
  EXPECT_NE(refused.err.find("dsa"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "a.example.key.pem"));
}

TEST(MaintenanceFiles, UnwritableCryptoPathIsReportedAndNothingIsWritten) {
  test::temp_dir dir;
  std::ofstream(dir.path() / "file") << "x";
  auto refused = run_app({"danemq-maintenance", "create-selfsigned-id", "--identity-name", "a.example", "--crypto-path",
                          (dir.path() / "file" / "identity").string()});
  EXPECT_EQ(refused.exit_code, exit_identity_files);
  EXPECT_NE(refused.err.find("CRYPTO_PATH"), std::string::npos) << refused.err;
}

TEST(MaintenanceFiles, CorruptOrMismatchedFilesAreReportedAndLeftUntouched) {
  test::temp_dir dir;
  const auto args = [&](const std::string& command) {
    return std::vector<std::string>{"danemq-maintenance", command,         "--identity-name",
                                    "a.example",          "--crypto-path", dir.path().string()};
  };
  ASSERT_EQ(run_app(args("create-selfsigned-id")).exit_code, exit_success);
  const auto cert_path = dir.path() / "a.example.crt.pem";
  std::ofstream(cert_path, std::ios::trunc) << "corrupt";
  auto corrupt = run_app(args("generate-tlsa"));
  EXPECT_EQ(corrupt.exit_code, exit_identity_files);
  EXPECT_NE(corrupt.err.find("crt.pem"), std::string::npos);
  std::ifstream in(cert_path);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "corrupt");
}

}  // namespace
}  // namespace danemq::maintenance

namespace danemq::maintenance {
namespace {

TEST(MaintenanceSettings, LookupOfAnotherNameNeedsNoIdentityName) {
  // An unreachable resolver: the command must get past settings validation and
  // fail on DNS (exit 3), not on the missing IDENTITY_NAME (exit 1).
  auto looked_up = run_app({"danemq-maintenance", "lookup", "peer.example", "--dns-resolver", "127.0.0.1:9",
                            "--dns-timeout-ms", "200", "--dns-retries", "0"});
  EXPECT_NE(looked_up.exit_code, exit_usage) << looked_up.err;
  EXPECT_EQ(looked_up.err.find("IDENTITY_NAME"), std::string::npos) << looked_up.err;
}

TEST(MaintenanceSettings, PrintsItsVersion) {
  const auto version = run_app({"danemq-maintenance", "--version"});
  EXPECT_EQ(version.exit_code, exit_success) << version.err;
  EXPECT_EQ(version.out.rfind("danemq-maintenance 0.", 0), 0u) << version.out;
  EXPECT_NE(version.out.find("\nldns: "), std::string::npos) << version.out;
}

TEST(MaintenanceSettings, AMistypedSubcommandListsTheSubcommands) {
  const auto mistyped = run_app({"danemq-maintenance", "chek"});
  EXPECT_EQ(mistyped.exit_code, exit_usage);
  EXPECT_NE(mistyped.err.find("unknown subcommand 'chek'; the subcommands are: create-selfsigned-id, "),
            std::string::npos)
      << mistyped.err;
  EXPECT_NE(mistyped.err.find("check"), std::string::npos) << mistyped.err;
}

TEST_F(Maintenance, AnUnreachableResolverIsNeverReportedAsTrusted) {
  ASSERT_EQ(run("create-selfsigned-id", {"--key-type", "ec-p256"}).exit_code, exit_success);
  const std::vector<std::string> unreachable{
      "--dns-resolver", "127.0.0.1:9", "--dns-timeout-ms", "200", "--dns-retries", "0"};
  for (const auto& command : {"check", "lookup"}) {
    auto args = unreachable;
    if (std::string(command) == "lookup") args.insert(args.begin(), "peer.example");
    const auto answered = run(command, args);
    EXPECT_EQ(answered.exit_code, exit_dns_mismatch) << answered.out << answered.err;
    EXPECT_EQ(answered.out.find("trusted"), std::string::npos) << answered.out;
    EXPECT_NE(answered.out.find("Verdict: resolver unreachable"), std::string::npos) << answered.out;
    EXPECT_NE(answered.err.find("resolver unreachable"), std::string::npos) << answered.err;
  }
}

}  // namespace
}  // namespace danemq::maintenance

namespace danemq::maintenance {
namespace {

TEST(MaintenanceSettings, RefusalsNameTheVariableAsBefore) {
  const auto refused = [](std::vector<std::string> extra) {
    std::vector<std::string> args{"danemq-maintenance", "generate-tlsa", "--crypto-path", "/nonexistent"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_app(args);
  };
  EXPECT_EQ(refused({}).err, "error: IDENTITY_NAME is not set (set the variable or pass --identity-name)\n");
  EXPECT_EQ(refused({"--identity-name", "a.example", "--app-uid", "12a"}).err,
            "error: APP_UID: '12a' is not a numeric user id\n");
  EXPECT_EQ(refused({"--identity-name", "a.example", "--log-format", "xml"}).err,
            "error: LOG_FORMAT: 'xml' (expected text or json)\n");
  const auto country = refused({"--identity-name", "a.example", "--country", "USA"});
  EXPECT_EQ(country.exit_code, exit_usage);
  EXPECT_EQ(country.err, "error: COUNTRY: 'USA' is not a two-letter code\n");
}

TEST(MaintenanceSettings, HelpShowsTheDefaultsOfTheSettingsStruct) {
  auto help = run_app({"danemq-maintenance", "--help"});
  EXPECT_EQ(help.exit_code, exit_success);
  EXPECT_NE(help.out.find("[default: /identity/]"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("[default: " + identity::subject_fields{}.locality + "]"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("IDENTITY_NAME"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace danemq::maintenance
