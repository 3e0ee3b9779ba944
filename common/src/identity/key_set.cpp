#include "danemq/identity/key_set.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "danemq/identity/certificate.hpp"

namespace danemq::identity {
namespace {

bool file_present(const std::filesystem::path& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0;
}

crypto::unique_evp_pkey share(EVP_PKEY* key) {
  if (key != nullptr) EVP_PKEY_up_ref(key);
  return crypto::unique_evp_pkey(key);
}

crypto::unique_x509 share(X509* certificate) {
  if (certificate != nullptr) X509_up_ref(certificate);
  return crypto::unique_x509(certificate);
}

result<held_key> load_pair(const identity_paths& paths, key_role role, bool allow_insecure_permissions) {
  auto key = load_private_key(paths.key, allow_insecure_permissions);
  if (!key) return key.error();
  auto certificate = load_certificate(paths.certificate);
  if (!certificate) return certificate.error();
  if (!certificate_matches_key(**certificate, **key)) {
    return fail(errc::key_mismatch,
                paths.certificate.string() + " does not carry the public key of " + paths.key.string());
  }
  return held_key{role, paths, std::move(key).value(), std::move(certificate).value()};
}

/// A next or previous key in the token beside the current one, with its
/// certificate file; nothing while the token holds no such key (a rotation
/// step under way).
result<std::optional<held_key>> load_token_pair(const identity_paths& paths, key_role role,
                                                const pkcs11::token_settings& current) {
  auto token = key_token(current, role);
  if (!token) return token.error();
  auto key = pkcs11::open_token_key(*token);
  if (!key && key.error().code == pkcs11::errc::key_not_found) return std::optional<held_key>();
  if (!key) return key.error();
  auto certificate = load_certificate(paths.certificate);
  if (!certificate) return certificate.error();
  if (!certificate_matches_key(**certificate, *key->public_key)) {
    return fail(errc::key_mismatch,
                paths.certificate.string() + " does not carry the public key of the token key " + token->key_uri);
  }
  return std::optional<held_key>(
      held_key{role, paths, std::move(key->public_key), std::move(certificate).value(), std::move(key->operations)});
}

}  // namespace

result<pkcs11::token_settings> key_token(const pkcs11::token_settings& current, key_role role) {
  if (role == key_role::current || current.key_uri.empty()) return current;
  auto uri = pkcs11::sibling_key_uri(current.key_uri, role == key_role::next ? ".next" : ".prev");
  if (!uri) return uri.error();
  pkcs11::token_settings out = current;
  out.key_uri = std::move(*uri);
  return out;
}

std::string_view to_string(key_role role) noexcept {
  switch (role) {
    case key_role::current: return "current";
    case key_role::next: return "next";
    case key_role::previous: return "previous";
  }
  return "unknown";
}

identity_paths key_paths(const std::filesystem::path& crypto_path, std::string_view name, key_role role) {
  switch (role) {
    case key_role::current: break;
    case key_role::next: return identity_paths::of(crypto_path, std::string(name) + ".next");
    case key_role::previous: return identity_paths::of(crypto_path, std::string(name) + ".prev");
  }
  return identity_paths::of(crypto_path, name);
}

const held_key* key_set::find(key_role role) const {
  for (const auto& key : keys) {
    if (key.role == role) return &key;
  }
  return nullptr;
}

result<key_set> load_key_set(const std::filesystem::path& crypto_path, std::string_view name,
                             bool allow_insecure_permissions) {
  return load_key_set(crypto_path, name, pkcs11::token_settings{}, allow_insecure_permissions);
}

result<key_set> load_key_set(const std::filesystem::path& crypto_path, std::string_view name,
                             const pkcs11::token_settings& token, bool allow_insecure_permissions) {
  key_set set;
  set.name = std::string(name);
  auto current = load_local_identity(crypto_path, name, token, allow_insecure_permissions);
  if (!current) return current.error();
  set.keys.push_back(held_key{key_role::current, current->paths, std::move(current->key),
                              std::move(current->certificate), std::move(current->outside_key)});
  for (const auto role : {key_role::next, key_role::previous}) {
    const auto paths = key_paths(crypto_path, name, role);
    if (!token.key_uri.empty()) {
      if (!file_present(paths.certificate)) continue;
      auto pair = load_token_pair(paths, role, token);
      if (!pair) return pair.error();
      if (*pair) set.keys.push_back(std::move(**pair));
      continue;
    }
    if (!file_present(paths.key) || !file_present(paths.certificate)) continue;
    auto pair = load_pair(paths, role, allow_insecure_permissions);
    if (!pair) return pair.error();
    set.keys.push_back(std::move(pair).value());
  }
  return set;
}

local_identity current_identity(const key_set& keys) {
  const auto& current = keys.current();
  return local_identity{keys.name, current.paths, share(current.key.get()), share(current.certificate.get()),
                        current.outside};
}

key_set key_set_of(const local_identity& identity) {
  key_set set;
  set.name = identity.name;
  set.keys.push_back(held_key{key_role::current, identity.paths, share(identity.key.get()),
                              share(identity.certificate.get()), identity.outside_key});
  return set;
}

key_files_stamp stamp_key_files(const std::filesystem::path& crypto_path, std::string_view name) {
  key_files_stamp stamp;
  std::size_t at = 0;
  for (const auto role : {key_role::current, key_role::next, key_role::previous}) {
    const auto paths = key_paths(crypto_path, name, role);
    for (const auto* path : {&paths.key, &paths.certificate}) {
      struct stat info {};
      if (stat(path->c_str(), &info) == 0) {
        stamp.files[at] = {static_cast<long long>(info.st_ino), static_cast<long long>(info.st_size),
                           static_cast<long long>(info.st_mtim.tv_sec), static_cast<long long>(info.st_mtim.tv_nsec)};
      }
      ++at;
    }
  }
  return stamp;
}

result<void> destroy_key_file(const std::filesystem::path& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return ok();
    return fail(errc::file_unwritable, path.string() + ": " + std::strerror(errno));
  }
  struct stat info {};
  bool overwritten = fstat(fd, &info) == 0;
  const std::vector<char> zeros(4096, 0);
  for (off_t done = 0; overwritten && done < info.st_size;) {
    const auto chunk = std::min<off_t>(static_cast<off_t>(zeros.size()), info.st_size - done);
    const ssize_t n = pwrite(fd, zeros.data(), static_cast<std::size_t>(chunk), done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      overwritten = false;
      break;
    }
    done += n;
  }
  overwritten = overwritten && fsync(fd) == 0;
  const int saved = errno;
  close(fd);
  if (!overwritten) return fail(errc::file_unwritable, path.string() + ": cannot overwrite: " + std::strerror(saved));
  if (unlink(path.c_str()) != 0) return fail(errc::file_unwritable, path.string() + ": " + std::strerror(errno));
  const auto directory = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const int dir = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    (void)fsync(dir);
    close(dir);
  }
  return ok();
}

}  // namespace danemq::identity
