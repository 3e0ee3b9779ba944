// The maintenance tool's output checked by the openssl command-line tool:
// the TLSA hex equals `openssl x509 -outform der | xxd -p`, and the
// certificate verifies against itself and carries the SAN.
#include <gtest/gtest.h>

#include <algorithm>

#include "support/process.hpp"
#include "support/skip.hpp"

namespace danemq::maintenance {
namespace {

class OpensslAgreement : public ::testing::TestWithParam<std::string> {};

TEST_P(OpensslAgreement, TlsaHexIsTheCertificatesDer) {
  if (!test::have_program("openssl") || !test::have_program("xxd"))
    DANEMQ_SKIP_UNLESS_CI("openssl or xxd not installed");
  test::temp_dir dir;
  const std::map<std::string, std::string> env{{"IDENTITY_NAME", "device1.example.org"},
                                               {"CRYPTO_PATH", dir.path().string()}};
  const auto tool = (test::binary_dir() / "danemq-maintenance").string();
  auto created = test::run_command({tool, "create-selfsigned-id", "--key-type", GetParam()}, env);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto tlsa = test::run_command({(test::binary_dir() / "generate_tlsa").string()}, env);
  ASSERT_EQ(tlsa.exit_code, 0) << tlsa.err;
  const std::string prefix = "TLSA record for device1.example.org: 3 0 0 ";
  ASSERT_EQ(tlsa.out.rfind(prefix, 0), 0U) << tlsa.out;
  const auto hex = tlsa.out.substr(prefix.size(), tlsa.out.find('\n') - prefix.size());

  const auto cert = (dir.path() / "device1.example.org.crt.pem").string();
  auto der = test::run_command({"sh", "-c", "openssl x509 -in \"$0\" -outform der | xxd -p | tr -d '\\n'", cert});
  ASSERT_EQ(der.exit_code, 0) << der.err;
  EXPECT_EQ(hex, der.out);

  auto verified = test::run_command({"openssl", "verify", "-CAfile", cert, cert});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  auto text = test::run_command({"openssl", "x509", "-in", cert, "-noout", "-ext", "subjectAltName", "-subject"});
  EXPECT_NE(text.out.find("DNS:device1.example.org"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("C = US, ST = CA, L = San Francisco, O = example, CN = device1.example.org"),
            std::string::npos)
      << text.out;

  auto spki = test::run_command(
      {"sh", "-c", "openssl x509 -in \"$0\" -pubkey -noout | openssl pkey -pubin -outform der | sha256sum", cert});
  auto hashed = test::run_command({tool, "generate-tlsa", "--selector", "1", "--matching", "1"}, env);
  ASSERT_EQ(hashed.exit_code, 0);
  EXPECT_NE(hashed.out.find("3 1 1 " + spki.out.substr(0, 64)), std::string::npos) << hashed.out << spki.out;
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, OpensslAgreement, ::testing::Values("rsa-2048", "ec-p256"));

}  // namespace
}  // namespace danemq::maintenance
