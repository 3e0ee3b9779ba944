#include "danemq/identity/identity_files.hpp"

#include <array>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include <openssl/crypto.h>

#include "danemq/identity/certificate.hpp"
#include "danemq/identity/key.hpp"

namespace danemq::identity {
namespace {

/// Closes a POSIX file descriptor.
struct fd_closer {
  int fd{-1};
  fd_closer() = default;
  explicit fd_closer(int descriptor) : fd(descriptor) {}
  fd_closer(const fd_closer&) = delete;
  fd_closer& operator=(const fd_closer&) = delete;
  ~fd_closer() {
    if (fd >= 0) close(fd);
  }
};

std::string errno_text() {
  return std::strerror(errno);
}

failure unwritable(const std::filesystem::path& path, std::string_view what) {
  return fail(errc::file_unwritable, path.string() + ": " + std::string(what) + ": " + errno_text());
}

std::string random_suffix() {
  static thread_local std::mt19937_64 random(std::random_device{}());
  static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string suffix;
  for (int i = 0; i < 12; ++i) suffix.push_back(digits[random() % 36]);
  return suffix;
}

}  // namespace

identity_paths identity_paths::of(const std::filesystem::path& crypto_path, std::string_view name) {
  const std::string base(name);
  return {crypto_path / (base + ".key.pem"), crypto_path / (base + ".crt.pem"), crypto_path / (base + ".csr.pem")};
}

result<void> write_file_atomically(const std::filesystem::path& path, std::string_view contents, mode_t mode,
                                   std::optional<uid_t> owner, bool overwrite) {
  const auto directory = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  struct stat existing {};
  if (!overwrite && lstat(path.c_str(), &existing) == 0) {
    return fail(errc::file_exists, path.string() + " already exists (use --force to replace it)");
  }
  // Appended rather than "." + name + ...: g++ 12 at -O3 warns falsely (-Wrestrict) on that form.
  std::string temporary_name(1, '.');
  temporary_name.append(path.filename().string()).append(".tmp-").append(random_suffix());
  const auto temporary = directory / temporary_name;
  // Created with the final mode from the start: a key is never readable by others, not even briefly.
  fd_closer file(open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (file.fd < 0) return unwritable(directory, "cannot create a file");
  auto discard = [&](failure error) {
    unlink(temporary.c_str());
    return error;
  };
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = write(file.fd, contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return discard(unwritable(temporary, "write"));
    }
    written += static_cast<std::size_t>(n);
  }
  if (fchmod(file.fd, mode) != 0) return discard(unwritable(temporary, "chmod"));
  if (owner && fchown(file.fd, *owner, static_cast<gid_t>(-1)) != 0) {
    return discard(unwritable(temporary, "chown to APP_UID " + std::to_string(*owner)));
  }
  if (fsync(file.fd) != 0) return discard(unwritable(temporary, "fsync"));
  if (!overwrite) {
    // link() fails if the name appeared meanwhile, so a concurrent writer is not clobbered.
    if (link(temporary.c_str(), path.c_str()) != 0) {
      if (errno == EEXIST) {
        return discard(fail(errc::file_exists, path.string() + " already exists (use --force to replace it)"));
      }
      return discard(unwritable(path, "link"));
    }
    unlink(temporary.c_str());
  } else if (rename(temporary.c_str(), path.c_str()) != 0) {
    return discard(unwritable(path, "rename"));
  }
  fd_closer dir(open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.fd >= 0) fsync(dir.fd);
  return ok();
}

result<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_size) {
  fd_closer file(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.fd < 0) return fail(errc::file_unreadable, path.string() + ": " + errno_text());
  // The file may hold a private key: reserved once, so growing never leaves
  // a copy behind in freed memory, and the buffers are cleansed on every way
  // out, the error paths included.
  std::string contents;
  contents.reserve(max_size);
  std::array<char, 4096> buffer{};
  struct cleanser {
    std::array<char, 4096>& buffer;
    ~cleanser() { OPENSSL_cleanse(buffer.data(), buffer.size()); }
  } const cleanse_buffer{buffer};
  while (true) {
    const ssize_t n = read(file.fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      crypto::cleanse(contents);
      return fail(errc::file_unreadable, path.string() + ": " + errno_text());
    }
    if (n == 0) break;
    if (contents.size() + static_cast<std::size_t>(n) > max_size) {
      crypto::cleanse(contents);
      return fail(errc::file_unreadable, path.string() + ": larger than " + std::to_string(max_size) + " bytes");
    }
    contents.append(buffer.data(), static_cast<std::size_t>(n));
  }
  return contents;
}

result<crypto::unique_evp_pkey> load_private_key(const std::filesystem::path& path, bool allow_insecure_permissions) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return fail(errc::file_unreadable, path.string() + ": " + errno_text());
  if (!allow_insecure_permissions && (info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return fail(errc::insecure_key_file,
                path.string() + " is accessible by group or others; fix with: chmod 600 " + path.string());
  }
  auto pem = read_small_file(path, std::size_t{64} * 1024);
  if (!pem) return pem.error();
  auto key = crypto::private_key_from_pem(*pem);
  crypto::cleanse(*pem);
  if (!key) return fail(errc::bad_key_file, path.string() + ": " + key.error().detail);
  if (auto acceptable = check_acceptable_key(**key); !acceptable) {
    return fail(errc::bad_key_file, path.string() + ": " + acceptable.error().detail);
  }
  return key;
}

result<crypto::unique_x509> load_certificate(const std::filesystem::path& path) {
  auto pem = read_small_file(path, std::size_t{256} * 1024);
  if (!pem) return pem.error();
  auto cert = crypto::certificate_from_pem(*pem);
  if (!cert) return fail(errc::bad_certificate_file, path.string() + ": " + cert.error().detail);
  return cert;
}

result<identity_key> load_identity_key(const std::filesystem::path& key_file, const pkcs11::token_settings& token,
                                       bool allow_insecure_permissions) {
  if (token.key_uri.empty()) {
    auto key = load_private_key(key_file, allow_insecure_permissions);
    if (!key) return key.error();
    return identity_key{std::move(key).value(), nullptr};
  }
  auto in_token = pkcs11::open_token_key(token);
  if (!in_token) return in_token.error();
  return identity_key{std::move(in_token->public_key), std::move(in_token->operations)};
}

result<local_identity> load_local_identity(const std::filesystem::path& crypto_path, std::string_view name,
                                           bool allow_insecure_permissions) {
  return load_local_identity(crypto_path, name, pkcs11::token_settings{}, allow_insecure_permissions);
}

result<local_identity> load_local_identity(const std::filesystem::path& crypto_path, std::string_view name,
                                           const pkcs11::token_settings& token, bool allow_insecure_permissions) {
  auto paths = identity_paths::of(crypto_path, name);
  auto key = load_identity_key(paths.key, token, allow_insecure_permissions);
  if (!key) return key.error();
  auto cert = load_certificate(paths.certificate);
  if (!cert) return cert.error();
  if (!certificate_matches_key(**cert, *key->key)) {
    const std::string holder = token.key_uri.empty() ? paths.key.string() : "the token key " + token.key_uri;
    return fail(errc::key_mismatch, paths.certificate.string() + " does not carry the public key of " + holder);
  }
  return local_identity{std::string(name), std::move(paths), std::move(key->key), std::move(cert).value(),
                        std::move(key->outside)};
}

}  // namespace danemq::identity
