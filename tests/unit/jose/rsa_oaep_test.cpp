#include "rsa_oaep.hpp"

#include <gtest/gtest.h>
#include <openssl/rsa.h>

#include "danemq/jose/errors.hpp"
#include "support/jose_test_support.hpp"

namespace danemq::jose::detail {
namespace {

TEST(RsaOaep256, WrapsAndUnwrapsAContentKey) {
  const crypto::bytes cek(64, 0x5a);
  auto wrapped = rsa_oaep256_wrap(*test::public_only(test::rsa_key(1)), cek);
  ASSERT_TRUE(wrapped) << wrapped.error().message();
  EXPECT_EQ(wrapped->size(), 256U);
  auto unwrapped = rsa_oaep256_unwrap(test::rsa_key(1), *wrapped);
  ASSERT_TRUE(unwrapped) << unwrapped.error().message();
  EXPECT_EQ(*unwrapped, cek);
  // Randomized padding: two wraps differ.
  EXPECT_NE(*rsa_oaep256_wrap(test::rsa_key(1), cek), *wrapped);
}

TEST(RsaOaep256, IsNotOaepWithSha1) {
  // A key wrapped with RSA-OAEP (SHA-1, what cjose calls RSA-OAEP) must not unwrap.
  const crypto::bytes cek(64, 0x5a);
  const crypto::unique_evp_pkey_ctx ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(&test::rsa_key(1)), nullptr));
  ASSERT_EQ(EVP_PKEY_encrypt_init(ctx.get()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING), 1);
  std::size_t size = 256;
  crypto::bytes sha1_wrapped(size);
  ASSERT_EQ(EVP_PKEY_encrypt(ctx.get(), sha1_wrapped.data(), &size, cek.data(), cek.size()), 1);
  auto unwrapped = rsa_oaep256_unwrap(test::rsa_key(1), sha1_wrapped);
  ASSERT_FALSE(unwrapped);
  EXPECT_EQ(unwrapped.error().code, make_error_code(errc::decryption_failed));
}

TEST(RsaOaep256, RefusesWrongLengthsAndNonRsaKeys) {
  EXPECT_EQ(rsa_oaep256_unwrap(test::rsa_key(1), crypto::bytes(255, 1)).error().code,
            make_error_code(errc::decryption_failed));
  EXPECT_EQ(rsa_oaep256_unwrap(test::rsa_key(1), crypto::bytes{}).error().code,
            make_error_code(errc::decryption_failed));
  EXPECT_EQ(rsa_oaep256_wrap(test::ec_key(0), crypto::bytes(64)).error().code, make_error_code(errc::unsupported_key));
}

}  // namespace
}  // namespace danemq::jose::detail
