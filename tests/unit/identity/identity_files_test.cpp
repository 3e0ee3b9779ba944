#include "danemq/identity/identity_files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "danemq/identity/certificate.hpp"
#include "danemq/identity/key.hpp"
#include "support/process.hpp"
#include "support/skip.hpp"

namespace danemq::identity {
namespace {

mode_t mode_of(const std::filesystem::path& path) {
  struct stat info {};
  EXPECT_EQ(stat(path.c_str(), &info), 0);
  return info.st_mode & 0777;
}

std::size_t entries_in(const std::filesystem::path& dir) {
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}

void write_plain(const std::filesystem::path& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  chmod(path.c_str(), mode);
}

TEST(IdentityPaths, AreTheOriginalsFileNames) {
  const auto paths = identity_paths::of("/identity/", "alice.example.net");
  EXPECT_EQ(paths.key, "/identity/alice.example.net.key.pem");
  EXPECT_EQ(paths.certificate, "/identity/alice.example.net.crt.pem");
  EXPECT_EQ(paths.csr, "/identity/alice.example.net.csr.pem");
}

TEST(AtomicWrite, WritesWithTheModeAndLeavesNoTemporaryFile) {
  test::temp_dir dir;
  const auto path = dir.path() / "secret.pem";
  ASSERT_TRUE(write_file_atomically(path, "hello", 0600, std::nullopt, false));
  EXPECT_EQ(mode_of(path), 0600U);
  EXPECT_EQ(*read_small_file(path), "hello");
  EXPECT_EQ(entries_in(dir.path()), 1U);
}

TEST(AtomicWrite, NeverOverwritesWithoutPermission) {
  test::temp_dir dir;
  const auto path = dir.path() / "key.pem";
  ASSERT_TRUE(write_file_atomically(path, "old", 0600, std::nullopt, false));
  auto refused = write_file_atomically(path, "new", 0600, std::nullopt, false);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, errc::file_exists);
  EXPECT_EQ(*read_small_file(path), "old");
  EXPECT_EQ(entries_in(dir.path()), 1U);

  ASSERT_TRUE(write_file_atomically(path, "new", 0600, std::nullopt, true));
  EXPECT_EQ(*read_small_file(path), "new");
}

TEST(AtomicWrite, ReportsAnUnwritableDirectory) {
  test::temp_dir dir;
  write_plain(dir.path() / "not-a-directory", "x", 0644);
  auto refused = write_file_atomically(dir.path() / "not-a-directory" / "key.pem", "k", 0600, std::nullopt, false);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, errc::file_unwritable);
  EXPECT_NE(refused.error().detail.find("not-a-directory"), std::string::npos);
}

TEST(AtomicWrite, ChownsToTheAppUid) {
  if (geteuid() != 0) DANEMQ_SKIP_UNLESS_CI("chown to another user needs root");
  test::temp_dir dir;
  const auto path = dir.path() / "owned.pem";
  ASSERT_TRUE(write_file_atomically(path, "x", 0600, uid_t{4321}, false));
  struct stat info {};
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_uid, 4321U);
}

class LocalIdentity : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made_key = generate_key(key_type::ec_p256);
    ASSERT_TRUE(made_key);
    key = std::move(made_key).value();
    auto made_cert = make_self_signed_certificate(*key, "bob.example.net", {});
    ASSERT_TRUE(made_cert);
    paths = identity_paths::of(dir.path(), "bob.example.net");
    ASSERT_TRUE(write_file_atomically(paths.key, crypto::private_key_to_pem(*key), 0600, std::nullopt, false));
    ASSERT_TRUE(write_file_atomically(paths.certificate, crypto::to_pem(**made_cert), 0644, std::nullopt, false));
  }
  test::temp_dir dir;
  identity_paths paths;
  crypto::unique_evp_pkey key;
};

TEST_F(LocalIdentity, LoadsAMatchingPair) {
  auto loaded = load_local_identity(dir.path(), "bob.example.net");
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->name, "bob.example.net");
  EXPECT_TRUE(crypto::same_public_key(*loaded->key, *key));
}

TEST_F(LocalIdentity, RefusesAKeyReadableByOthers) {
  chmod(paths.key.c_str(), 0644);
  auto refused = load_local_identity(dir.path(), "bob.example.net");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, errc::insecure_key_file);
  EXPECT_NE(refused.error().detail.find("chmod 600"), std::string::npos);
}

TEST_F(LocalIdentity, RefusesACertificateOfAnotherKey) {
  auto other = generate_key(key_type::ec_p256);
  ASSERT_TRUE(other);
  auto cert = make_self_signed_certificate(**other, "bob.example.net", {});
  ASSERT_TRUE(cert);
  ASSERT_TRUE(write_file_atomically(paths.certificate, crypto::to_pem(**cert), 0644, std::nullopt, true));
  auto refused = load_local_identity(dir.path(), "bob.example.net");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, errc::key_mismatch);
}

TEST_F(LocalIdentity, RefusesCorruptFiles) {
  write_plain(paths.key, "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n", 0600);
  auto bad_key = load_local_identity(dir.path(), "bob.example.net");
  ASSERT_FALSE(bad_key);
  EXPECT_EQ(bad_key.error().code, errc::bad_key_file);

  ASSERT_TRUE(write_file_atomically(paths.key, crypto::private_key_to_pem(*key), 0600, std::nullopt, true));
  write_plain(paths.certificate, "garbage", 0644);
  auto bad_cert = load_local_identity(dir.path(), "bob.example.net");
  ASSERT_FALSE(bad_cert);
  EXPECT_EQ(bad_cert.error().code, errc::bad_certificate_file);
}

TEST_F(LocalIdentity, ReportsAMissingFile) {
  std::filesystem::remove(paths.certificate);
  auto missing = load_local_identity(dir.path(), "bob.example.net");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, errc::file_unreadable);
  EXPECT_NE(missing.error().detail.find("crt.pem"), std::string::npos);
}

}  // namespace
}  // namespace danemq::identity
