#include "danemq/identity/key_set.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "danemq/identity/certificate.hpp"
#include "danemq/identity/key.hpp"
#include "support/process.hpp"

namespace danemq::identity {
namespace {

constexpr const char* name = "bob.example.net";

/// Writes a fresh key and certificate under the role's file names; returns the key.
crypto::unique_evp_pkey write_pair(const std::filesystem::path& dir, key_role role) {
  auto key = std::move(generate_key(key_type::ec_p256)).value();
  auto cert = std::move(make_self_signed_certificate(*key, name, {})).value();
  const auto paths = key_paths(dir, name, role);
  EXPECT_TRUE(write_file_atomically(paths.key, crypto::private_key_to_pem(*key), 0600, std::nullopt, true));
  EXPECT_TRUE(write_file_atomically(paths.certificate, crypto::to_pem(*cert), 0644, std::nullopt, true));
  return key;
}

TEST(KeyPaths, KeepTheOriginalsNamesForTheCurrentKey) {
  EXPECT_EQ(key_paths("/identity/", name, key_role::current).key, "/identity/bob.example.net.key.pem");
  EXPECT_EQ(key_paths("/identity/", name, key_role::next).key, "/identity/bob.example.net.next.key.pem");
  EXPECT_EQ(key_paths("/identity/", name, key_role::next).certificate, "/identity/bob.example.net.next.crt.pem");
  EXPECT_EQ(key_paths("/identity/", name, key_role::previous).key, "/identity/bob.example.net.prev.key.pem");
  EXPECT_EQ(key_paths("/identity/", name, key_role::previous).certificate, "/identity/bob.example.net.prev.crt.pem");
}

TEST(KeySet, HoldsTheCurrentKeyAloneOutsideARotation) {
  test::temp_dir dir;
  const auto current = write_pair(dir.path(), key_role::current);
  auto loaded = load_key_set(dir.path(), name);
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_EQ(loaded->keys.size(), 1U);
  EXPECT_TRUE(crypto::same_public_key(*loaded->current().key, *current));
  EXPECT_EQ(loaded->find(key_role::next), nullptr);
}

TEST(KeySet, HoldsCurrentNextAndPreviousInThatOrder) {
  test::temp_dir dir;
  const auto previous = write_pair(dir.path(), key_role::previous);
  const auto next = write_pair(dir.path(), key_role::next);
  const auto current = write_pair(dir.path(), key_role::current);
  auto loaded = load_key_set(dir.path(), name);
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_EQ(loaded->keys.size(), 3U);
  EXPECT_EQ(loaded->keys[0].role, key_role::current);
  EXPECT_EQ(loaded->keys[1].role, key_role::next);
  EXPECT_EQ(loaded->keys[2].role, key_role::previous);
  EXPECT_TRUE(crypto::same_public_key(*loaded->find(key_role::next)->key, *next));
  EXPECT_TRUE(crypto::same_public_key(*loaded->find(key_role::previous)->key, *previous));
  EXPECT_TRUE(crypto::same_public_key(*current_identity(*loaded).key, *current));
}

TEST(KeySet, LeavesOutAHalfWrittenPairButRefusesAMismatchedOne) {
  test::temp_dir dir;
  (void)write_pair(dir.path(), key_role::current);
  const auto next = key_paths(dir.path(), name, key_role::next);
  auto key = std::move(generate_key(key_type::ec_p256)).value();
  ASSERT_TRUE(write_file_atomically(next.key, crypto::private_key_to_pem(*key), 0600, std::nullopt, false));
  auto half = load_key_set(dir.path(), name);
  ASSERT_TRUE(half) << half.error().message();
  EXPECT_EQ(half->keys.size(), 1U);

  auto other = std::move(generate_key(key_type::ec_p256)).value();
  auto cert = std::move(make_self_signed_certificate(*other, name, {})).value();
  ASSERT_TRUE(write_file_atomically(next.certificate, crypto::to_pem(*cert), 0644, std::nullopt, false));
  auto mismatched = load_key_set(dir.path(), name);
  ASSERT_FALSE(mismatched);
  EXPECT_EQ(mismatched.error().code, errc::key_mismatch);
}

TEST(KeyFiles, StampChangesWithTheFilesAndDestroyRemovesTheKey) {
  test::temp_dir dir;
  (void)write_pair(dir.path(), key_role::current);
  const auto before = stamp_key_files(dir.path(), name);
  EXPECT_EQ(before, stamp_key_files(dir.path(), name));
  (void)write_pair(dir.path(), key_role::next);
  EXPECT_NE(before, stamp_key_files(dir.path(), name));

  const auto next_key = key_paths(dir.path(), name, key_role::next).key;
  ASSERT_TRUE(destroy_key_file(next_key));
  EXPECT_FALSE(std::filesystem::exists(next_key));
  EXPECT_TRUE(destroy_key_file(next_key)) << "a missing file is already destroyed";
}

TEST(KeyToken, PutsTheNextAndPreviousKeysBesideTheCurrentOneInItsToken) {
  const pkcs11::token_settings current{"pkcs11:token=danemq;object=bob", "/lib/module.so", "/run/pin"};
  auto next = key_token(current, key_role::next);
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_EQ(next->key_uri, "pkcs11:token=danemq;object=bob.next");
  EXPECT_EQ(next->module, current.module);
  EXPECT_EQ(next->pin_file, current.pin_file);
  EXPECT_EQ(key_token(current, key_role::previous)->key_uri, "pkcs11:token=danemq;object=bob.prev");
  EXPECT_EQ(key_token(current, key_role::current)->key_uri, current.key_uri);
  EXPECT_EQ(key_token({}, key_role::next)->key_uri, "") << "a key file has no token";
  EXPECT_FALSE(key_token({"file:bob", {}, {}}, key_role::next));
}

}  // namespace
}  // namespace danemq::identity
