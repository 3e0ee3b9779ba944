#include "danemq/crypto/openssl.hpp"

#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>

namespace danemq::crypto {
namespace {

TEST(Hex, RoundTripsAndRefusesBadDigits) {
  const bytes data{0x00, 0x7f, 0x80, 0xff};
  EXPECT_EQ(to_hex(data), "007f80ff");
  EXPECT_EQ(*from_hex("007F80ff"), data);
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
}

TEST(Digest, Sha256OfPartsIsTheDigestOfTheirConcatenation) {
  const std::vector<std::uint8_t> first{'a', 'b'};
  const std::vector<std::uint8_t> second{0, 'c'};
  const std::vector<std::uint8_t> joined{'a', 'b', 0, 'c'};
  EXPECT_EQ(sha256_of_parts({first, second}), sha256(joined));
  EXPECT_EQ(sha256_of_parts({}), sha256({}));
}

TEST(OpensslErrors, DrainsTheWholeQueue) {
  ERR_put_error(ERR_LIB_EVP, 0, ERR_R_MALLOC_FAILURE, __FILE__, __LINE__);
  ERR_put_error(ERR_LIB_X509, 0, ERR_R_PASSED_NULL_PARAMETER, __FILE__, __LINE__);
  const auto text = drain_openssl_errors();
  EXPECT_NE(text.find("; "), std::string::npos) << text;
  EXPECT_EQ(ERR_peek_error(), 0UL);
  EXPECT_EQ(drain_openssl_errors(), "no OpenSSL error reported");
}

TEST(Pem, PrivateKeyRoundTrips) {
  unique_evp_pkey key(EVP_EC_gen("P-256"));
  ASSERT_TRUE(key);
  std::string pem = private_key_to_pem(*key);
  auto parsed = private_key_from_pem(pem);
  cleanse(pem);
  EXPECT_TRUE(pem.empty());
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(same_public_key(**parsed, *key));
  EXPECT_EQ(kind_of(**parsed), key_kind::ec_p256);
}

namespace {

std::string pem_written(const std::function<int(BIO*)>& write) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || write(bio.get()) != 1) return {};
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

// Each form a key file may take is read, the plain ones by the short path
// (its type asked of the decoder), the others the general way.
TEST(Pem, ReadsEveryFormOfAnRsaOrP256KeyAndRefusesAnEncryptedOne) {
  for (const bool rsa : {true, false}) {
    unique_evp_pkey key(rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"));
    ASSERT_TRUE(key);
    const std::string pkcs8 = private_key_to_pem(*key);
    const std::string traditional = pem_written([&](BIO* bio) {
      return PEM_write_bio_PrivateKey_traditional(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
    const std::string with_parameters =
        rsa ? traditional
            : "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + traditional;
    ASSERT_NE(pkcs8.find("BEGIN PRIVATE KEY"), std::string::npos);
    ASSERT_NE(traditional.find(rsa ? "BEGIN RSA PRIVATE KEY" : "BEGIN EC PRIVATE KEY"), std::string::npos);
    for (const auto* pem : {&pkcs8, &traditional, &with_parameters}) {
      auto parsed = private_key_from_pem(*pem);
      ASSERT_TRUE(parsed) << *pem;
      EXPECT_TRUE(same_public_key(**parsed, *key));
      EXPECT_EQ(kind_of(**parsed), rsa ? key_kind::rsa : key_kind::ec_p256);
    }
    char passphrase[] = "secret";
    const std::string encrypted = pem_written([&](BIO* bio) {
      return PEM_write_bio_PKCS8PrivateKey(bio, key.get(), EVP_aes_256_cbc(), passphrase, 6, nullptr, nullptr);
    });
    ASSERT_NE(encrypted.find("BEGIN ENCRYPTED PRIVATE KEY"), std::string::npos);
    auto refused = private_key_from_pem(encrypted);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, errc::bad_pem);
    EXPECT_EQ(ERR_peek_error(), 0UL) << "no error left behind";
  }
  // A label that does not match its contents is not read as the label says.
  unique_evp_pkey ec(EVP_EC_gen("P-256"));
  std::string mislabelled = pem_written([&](BIO* bio) {
    return PEM_write_bio_PrivateKey_traditional(bio, ec.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  const std::string from = "EC PRIVATE KEY";
  for (auto at = mislabelled.find(from); at != std::string::npos; at = mislabelled.find(from)) {
    mislabelled.replace(at, from.size(), "RSA PRIVATE KEY");
  }
  EXPECT_FALSE(private_key_from_pem(mislabelled));
}

// With the secure heap up, the numbers of a parsed private key live in it,
// and go back to it when the key is freed.
TEST(SecureHeap, HoldsTheNumbersOfAParsedPrivateKey) {
  ASSERT_NE(enable_secure_heap(), secure_heap::unavailable);
  EXPECT_EQ(enable_secure_heap(), enable_secure_heap()) << "a second call reports the first outcome";
  for (const bool rsa : {true, false}) {
    std::string pem;
    {
      unique_evp_pkey made(rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"));
      ASSERT_TRUE(made);
      pem = private_key_to_pem(*made);
    }
    const auto before = CRYPTO_secure_used();
    {
      auto parsed = private_key_from_pem(pem);
      ASSERT_TRUE(parsed);
      EXPECT_GT(CRYPTO_secure_used(), before) << (rsa ? "RSA" : "EC") << " key numbers are not in the secure heap";
    }
    EXPECT_EQ(CRYPTO_secure_used(), before) << "a freed key left secure memory in use";
    cleanse(pem);
  }
}

TEST(Pem, RefusesGarbage) {
  auto key = private_key_from_pem("not a key");
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, errc::bad_pem);
  auto cert = certificate_from_pem("");
  ASSERT_FALSE(cert);
  EXPECT_EQ(cert.error().code, errc::bad_pem);
}

TEST(Der, PublicKeyRoundTripsAndRefusesTrailingBytes) {
  unique_evp_pkey key(EVP_RSA_gen(2048));
  ASSERT_TRUE(key);
  auto der = public_key_der(*key);
  auto parsed = public_key_from_der(der);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(same_public_key(**parsed, *key));
  der.push_back(0);
  EXPECT_FALSE(public_key_from_der(der));
  EXPECT_FALSE(certificate_from_der(der));
}

}  // namespace
}  // namespace danemq::crypto

namespace {

TEST(CoreDumps, AProcessThatKeepsOutOfThemHasNoCoreLimitAndIsNotDumpable) {
  // In a child: the test process itself stays dumpable for the sanitizers.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const bool done = danemq::crypto::keep_out_of_core_dumps();
    rlimit core{};
    getrlimit(RLIMIT_CORE, &core);
    const bool ok = done && core.rlim_cur == 0 && core.rlim_max == 0 && prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
