// Keys in a SoftHSM2 token, in process: made inside the token and never
// extractable, signing and decrypting through the token as the in-process
// key does, from several threads at once, and the one-line errors of a
// wrong PIN, a missing token and a missing module.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "danemq/identity/certificate.hpp"
#include "danemq/jose/jwe.hpp"
#include "danemq/jose/jws.hpp"
#include "danemq/pkcs11/token_key.hpp"
#include "support/skip.hpp"
#include "support/softhsm_token.hpp"

namespace danemq::pkcs11 {
namespace {

class TokenKey : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::softhsm_token::available()) DANEMQ_SKIP_UNLESS_CI("SoftHSM2 is not installed (softhsm2)");
    token_ = std::make_unique<test::softhsm_token>();
  }

  [[nodiscard]] token_settings settings(const std::string& object) const {
    return {test::softhsm_token::uri(object), test::softhsm_token::module, token_->pin_file()};
  }

  /// A JWS signed by the token key verifies with its public key, and a JWE
  /// to its public key decrypts through the token.
  static void signs_and_decrypts(const token_key& key) {
    const crypto::private_key signer(*key.public_key, *key.operations);
    auto text = jose::sign_jws("signed in the token", signer, {"dns:tok.example?type=TLSA", {}, {}, {}, false, {}},
                               jose::serialization::compact);
    ASSERT_TRUE(text) << text.error().message();
    auto parsed = jose::parse_jws(*text);
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(jose::verify_jws(*parsed, *key.public_key));

    auto wire = jose::encrypt_jwe("for the token", *key.public_key, "dns:tok.example?type=TLSA",
                                  jose::serialization::flattened_json);
    ASSERT_TRUE(wire) << wire.error().message();
    auto jwe = jose::parse_jwe(*wire, 1 << 16, 1 << 16);
    ASSERT_TRUE(jwe);
    auto plaintext = jose::decrypt_jwe(*jwe, signer, 1 << 16);
    ASSERT_TRUE(plaintext) << plaintext.error().message();
    EXPECT_EQ(*plaintext, "for the token");
  }

  std::unique_ptr<test::softhsm_token> token_;
};

TEST_F(TokenKey, P256KeyIsMadeInsideTheTokenAndNeverExtractable) {
  auto key = generate_token_key(settings("tok.example"), crypto::key_kind::ec_p256, false);
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_EQ(crypto::kind_of(*key->public_key), crypto::key_kind::ec_p256);
  auto attributes = inspect_private_key(settings("tok.example"));
  ASSERT_TRUE(attributes) << attributes.error().message();
  EXPECT_FALSE(attributes->extractable);
  EXPECT_TRUE(attributes->never_extractable);
  EXPECT_TRUE(attributes->sensitive);
  EXPECT_TRUE(attributes->on_token);

  auto again = generate_token_key(settings("tok.example"), crypto::key_kind::ec_p256, false);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, make_error_code(errc::key_exists));
  auto opened = open_token_key(settings("tok.example"));
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_TRUE(crypto::same_public_key(*opened->public_key, *key->public_key));
}

TEST_F(TokenKey, P256KeySignsEs256AndDecryptsEcdhEsThroughTheToken) {
  auto key = generate_token_key(settings("tok.example"), crypto::key_kind::ec_p256, false);
  ASSERT_TRUE(key) << key.error().message();
  signs_and_decrypts(*key);
}

TEST_F(TokenKey, Rsa2048KeySignsRs256AndUnwrapsRsaOaep256ThroughTheToken) {
  auto key = generate_token_key(settings("rsa.example"), crypto::key_kind::rsa, false);
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_EQ(crypto::key_bits(*key->public_key), 2048);
  signs_and_decrypts(*key);

  // A wrong wrapped key fails as decryption_failed, as with an in-process key.
  auto wire = jose::encrypt_jwe("x", *key->public_key, "u", jose::serialization::compact);
  ASSERT_TRUE(wire);
  auto tampered = *wire;
  const auto at = tampered.find('.') + 5;
  tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
  auto jwe = jose::parse_jwe(tampered, 1 << 16, 1 << 16);
  ASSERT_TRUE(jwe);
  auto refused = jose::decrypt_jwe(*jwe, crypto::private_key(*key->public_key, *key->operations), 1 << 16);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, make_error_code(jose::errc::decryption_failed));
}

TEST_F(TokenKey, SelfSignedCertificateIsSignedByTheTokenKey) {
  for (const auto kind : {crypto::key_kind::ec_p256, crypto::key_kind::rsa}) {
    const std::string name = kind == crypto::key_kind::rsa ? "rsa.example" : "ec.example";
    auto key = generate_token_key(settings(name), kind, false);
    ASSERT_TRUE(key) << key.error().message();
    const crypto::private_key signer(*key->public_key, *key->operations);
    auto cert = identity::make_self_signed_certificate(signer, name, {});
    ASSERT_TRUE(cert) << cert.error().message();
    EXPECT_EQ(X509_verify(cert->get(), key->public_key.get()), 1);
    EXPECT_TRUE(identity::certificate_matches_key(**cert, *key->public_key));
    auto csr = identity::make_csr(signer, name, {});
    ASSERT_TRUE(csr) << csr.error().message();
    EXPECT_EQ(X509_REQ_verify(csr->get(), key->public_key.get()), 1);
  }
}

TEST_F(TokenKey, ParallelWorkersShareOneSession) {
  auto key = generate_token_key(settings("tok.example"), crypto::key_kind::ec_p256, false);
  ASSERT_TRUE(key) << key.error().message();
  auto wire = jose::encrypt_jwe("in parallel", *key->public_key, "u", jose::serialization::compact);
  ASSERT_TRUE(wire);
  auto jwe = jose::parse_jwe(*wire, 1 << 16, 1 << 16);
  ASSERT_TRUE(jwe);
  const crypto::private_key signer(*key->public_key, *key->operations);
  std::atomic<int> decrypted{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 4; ++i) {
    workers.emplace_back([&] {
      for (int j = 0; j < 25; ++j) {
        if (auto plaintext = jose::decrypt_jwe(*jwe, signer, 1 << 16); plaintext && *plaintext == "in parallel") {
          ++decrypted;
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(decrypted.load(), 100);
}

TEST_F(TokenKey, WrongPinMissingTokenAndMissingModuleAreOneLineErrors) {
  ASSERT_TRUE(generate_token_key(settings("tok.example"), crypto::key_kind::ec_p256, false));
  const auto wrong_pin_file = token_->directory() / "wrong-pin";
  test::softhsm_token::write_pin_file(wrong_pin_file, "00000000");

  auto wrong_pin = settings("tok.example");
  wrong_pin.pin_file = wrong_pin_file;
  auto missing_token = settings("tok.example");
  missing_token.key_uri = "pkcs11:token=elsewhere;object=tok.example";
  auto missing_module = settings("tok.example");
  missing_module.module = "/nonexistent/libpkcs11.so";
  auto missing_key = settings("nobody.example");
  auto open_pin_file = settings("tok.example");
  open_pin_file.pin_file = token_->directory() / "open-pin";
  test::softhsm_token::write_pin_file(open_pin_file.pin_file, test::softhsm_token::pin);
  ::chmod(open_pin_file.pin_file.c_str(), 0644);

  const std::vector<std::pair<token_settings, errc>> cases{{wrong_pin, errc::pin_unusable},
                                                           {missing_token, errc::token_not_found},
                                                           {missing_module, errc::module_unavailable},
                                                           {missing_key, errc::key_not_found},
                                                           {open_pin_file, errc::pin_unusable}};
  for (const auto& [broken, code] : cases) {
    auto opened = open_token_key(broken);
    ASSERT_FALSE(opened) << broken.key_uri;
    EXPECT_EQ(opened.error().code, make_error_code(code)) << opened.error().message();
    EXPECT_EQ(opened.error().message().find('\n'), std::string::npos) << opened.error().message();
    EXPECT_EQ(opened.error().message().find(test::softhsm_token::pin), std::string::npos) << "no PIN in messages";
  }
}

TEST_F(TokenKey, AWrongPinIsNotOfferedAgainUntilThePinFileChanges) {
  ASSERT_TRUE(generate_token_key(settings("pin.example"), crypto::key_kind::ec_p256, false));
  const auto pin_file = token_->directory() / "typo-pin";
  test::softhsm_token::write_pin_file(pin_file, "11111111");
  auto typo = settings("pin.example");
  typo.pin_file = pin_file;
  auto first = open_token_key(typo);
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code, make_error_code(errc::pin_unusable));
  EXPECT_NE(first.error().message().find("refuses the PIN"), std::string::npos) << first.error().message();
  // A retry (the receiver's, once a minute) does not spend another of the token's tries.
  auto again = open_token_key(typo);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, make_error_code(errc::pin_unusable));
  EXPECT_NE(again.error().message().find("not offered again until that file changes"), std::string::npos)
      << again.error().message();
  // The PIN file corrected: tried, and good.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  test::softhsm_token::write_pin_file(pin_file, test::softhsm_token::pin);
  auto fixed = open_token_key(typo);
  ASSERT_TRUE(fixed) << fixed.error().message();
}

}  // namespace
}  // namespace danemq::pkcs11
