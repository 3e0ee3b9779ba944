#pragma once
// What the receiver and sender tests share: identities written to a crypto
// directory as the maintenance service writes them, and a fake DANE source
// that publishes, fails (temporarily or not) or answers slowly per name.

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "danemq/crypto/openssl.hpp"
#include "danemq/dane/identity_source.hpp"
#include "danemq/identity/certificate.hpp"
#include "danemq/identity/identity_files.hpp"
#include "danemq/identity/key.hpp"

namespace danemq::test {

/// Makes a key and a self-signed certificate for `name` and writes them as
/// <dir>/<name>.key.pem (0600) and <name>.crt.pem; returns them loaded.
inline identity::local_identity make_identity(const std::filesystem::path& dir, const std::string& name,
                                              identity::key_type type = identity::key_type::rsa_2048) {
  auto key = identity::generate_key(type);
  if (!key) throw std::runtime_error(key.error().message());
  auto cert = identity::make_self_signed_certificate(**key, name, identity::subject_fields{});
  if (!cert) throw std::runtime_error(cert.error().message());
  const auto paths = identity::identity_paths::of(dir, name);
  std::filesystem::create_directories(dir);
  auto pem = crypto::private_key_to_pem(**key);
  auto written = identity::write_file_atomically(paths.key, pem, 0600, std::nullopt, true);
  crypto::cleanse(pem);
  if (!written) throw std::runtime_error(written.error().message());
  written = identity::write_file_atomically(paths.certificate, crypto::to_pem(**cert), 0644, std::nullopt, true);
  if (!written) throw std::runtime_error(written.error().message());
  auto loaded = identity::load_local_identity(dir, name);
  if (!loaded) throw std::runtime_error(loaded.error().message());
  return std::move(*loaded);
}

/// DANE as the services see it, without DNS.
class fake_peers final : public dane::identity_source {
 public:
  void publish(const identity::local_identity& who, bool dnssec_secure = true) {
    auto found = std::make_shared<dane::dane_identity>();
    found->name = who.name;
    found->dnssec_secure = dnssec_secure;
    dane::trusted_key key;
    key.public_key = crypto::public_key_from_der(crypto::public_key_der(*who.certificate)).value();
    X509_up_ref(who.certificate.get());
    key.certificate.reset(who.certificate.get());
    found->keys.push_back(std::move(key));
    std::lock_guard lock(mutex_);
    published_[who.name] = std::move(found);
    failing_.erase(who.name);
  }
  /// resolved_before(name) is false from now on (true for every other name).
  void never_resolved(const std::string& name) {
    std::lock_guard lock(mutex_);
    never_resolved_.insert(name);
  }
  bool resolved_before(std::string_view name) override {
    std::lock_guard lock(mutex_);
    return !never_resolved_.contains(std::string(name));
  }
  void mark_proven(std::string_view name) override {
    std::lock_guard lock(mutex_);
    proven_.emplace_back(name);
  }
  /// The names mark_proven() was called with, in order.
  std::vector<std::string> proven() {
    std::lock_guard lock(mutex_);
    return proven_;
  }
  void fail_with(const std::string& name, dane::errc code) {
    std::lock_guard lock(mutex_);
    failing_[name] = code;
  }
  void heal(const std::string& name) {
    std::lock_guard lock(mutex_);
    failing_.erase(name);
  }
  void slow(const std::string& name, std::chrono::milliseconds delay) {
    std::lock_guard lock(mutex_);
    delays_[name] = delay;
  }
  /// Lookups of `name` wait (in discover()) until release(name): a lookup
  /// that is slow for exactly as long as a test needs, on any machine.
  void hold(const std::string& name) {
    std::lock_guard lock(mutex_);
    held_.insert(name);
  }
  void release(const std::string& name) {
    {
      std::lock_guard lock(mutex_);
      held_.erase(name);
    }
    released_.notify_all();
  }
  void release_all() {
    {
      std::lock_guard lock(mutex_);
      held_.clear();
    }
    released_.notify_all();
  }
  /// How many lookups wait in hold() right now.
  [[nodiscard]] int held_lookups() const {
    std::lock_guard lock(mutex_);
    return waiting_;
  }
  [[nodiscard]] int lookups() const { return lookups_.load(); }

  [[nodiscard]] result<dane::dane_identity_ptr> discover(std::string_view name) override {
    ++lookups_;
    std::chrono::milliseconds delay{0};
    {
      std::lock_guard lock(mutex_);
      if (auto found = delays_.find(name); found != delays_.end()) delay = found->second;
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    std::unique_lock lock(mutex_);
    if (held_.contains(name)) {
      ++waiting_;
      released_.wait(lock, [this, name] { return !held_.contains(name); });
      --waiting_;
    }
    if (auto failing = failing_.find(name); failing != failing_.end()) {
      return fail(failing->second, "fake DNS for " + std::string(name));
    }
    if (auto found = published_.find(name); found != published_.end()) return found->second;
    return fail(dane::errc::nxdomain, std::string(name) + " is not published");
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, dane::dane_identity_ptr, std::less<>> published_;
  std::map<std::string, dane::errc, std::less<>> failing_;
  std::map<std::string, std::chrono::milliseconds, std::less<>> delays_;
  std::set<std::string, std::less<>> held_;
  std::set<std::string, std::less<>> never_resolved_;
  std::vector<std::string> proven_;
  std::condition_variable released_;
  int waiting_{0};
  std::atomic<int> lookups_{0};
};

}  // namespace danemq::test
