#include "support/jose_test_support.hpp"

#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <array>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "encoding.hpp"

namespace danemq::jose::test {
namespace {

/// Keys committed under tests/unit/jose/keys/, loaded once per process.
const EVP_PKEY& cached(const std::string& kind, int index) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, int>, crypto::unique_evp_pkey> keys;
  const std::lock_guard lock(mutex);
  auto& slot = keys[{kind, index}];
  if (!slot) {
    const std::string path =
        std::string(DANEMQ_SOURCE_DIR) + "/tests/unit/jose/keys/" + kind + "-" + std::to_string(index) + ".key.pem";
    std::ifstream in(path);
    std::stringstream pem;
    pem << in.rdbuf();
    auto key = crypto::private_key_from_pem(pem.str());
    if (!key) throw std::runtime_error(path + ": " + key.error().message());
    slot = std::move(key).value();
  }
  return *slot;
}

std::string signature_of(std::string_view input, const EVP_PKEY& key) {
  const crypto::unique_evp_md_ctx ctx(EVP_MD_CTX_new());
  std::size_t size = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, const_cast<EVP_PKEY*>(&key)) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(input.data()), input.size()) !=
          1) {
    throw std::runtime_error(crypto::drain_openssl_errors());
  }
  crypto::bytes signature(size);
  if (EVP_DigestSign(ctx.get(), signature.data(), &size, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    throw std::runtime_error(crypto::drain_openssl_errors());
  }
  signature.resize(size);
  if (crypto::kind_of(key) != crypto::key_kind::ec_p256) return detail::base64url_encode(signature);
  // DER ECDSA-Sig-Value to JOSE's fixed-width r || s.
  const unsigned char* cursor = signature.data();
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
      d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(signature.size())), &ECDSA_SIG_free);
  if (!sig) throw std::runtime_error("bad ECDSA signature");
  crypto::bytes raw(64);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + 32, 32);
  return detail::base64url_encode(raw);
}

}  // namespace

const EVP_PKEY& rsa_key(int index) {
  return cached("rsa", index);
}
const EVP_PKEY& ec_key(int index) {
  return cached("ec", index);
}

crypto::unique_evp_pkey share(const EVP_PKEY& key) {
  EVP_PKEY_up_ref(const_cast<EVP_PKEY*>(&key));
  return crypto::unique_evp_pkey(const_cast<EVP_PKEY*>(&key));
}

crypto::unique_evp_pkey public_only(const EVP_PKEY& key) {
  auto copy = crypto::public_key_from_der(crypto::public_key_der(key));
  if (!copy) throw std::runtime_error(copy.error().message());
  return std::move(copy).value();
}

identity::local_identity local(std::string name, const EVP_PKEY& key) {
  identity::local_identity me;
  me.name = std::move(name);
  me.key = share(key);
  return me;
}

void fake_identity_source::publish(const std::string& name, const std::vector<const EVP_PKEY*>& keys,
                                   bool dnssec_secure) {
  auto identity = std::make_shared<dane::dane_identity>();
  identity->name = name;
  identity->dnssec_secure = dnssec_secure;
  for (const EVP_PKEY* key : keys) {
    dane::trusted_key trusted;
    trusted.public_key = public_only(*key);
    identity->keys.push_back(std::move(trusted));
  }
  const std::lock_guard lock(mutex_);
  published_[name] = std::move(identity);
  failing_.erase(name);
}

void fake_identity_source::fail_with(const std::string& name, dane::errc code) {
  const std::lock_guard lock(mutex_);
  failing_[name] = code;
}

void fake_identity_source::throw_on(const std::string& name) {
  const std::lock_guard lock(mutex_);
  throwing_[name] = true;
}

result<dane::dane_identity_ptr> fake_identity_source::discover(std::string_view name) {
  ++lookups_;
  const std::lock_guard lock(mutex_);
  if (throwing_.contains(name)) throw std::runtime_error("identity source exploded");
  if (const auto failing = failing_.find(name); failing != failing_.end()) {
    return fail(failing->second, "fake lookup of " + std::string(name));
  }
  if (const auto found = published_.find(name); found != published_.end()) return found->second;
  return fail(dane::errc::nxdomain, std::string(name));
}

std::string raw_jws_with_signature(std::string_view protected_json, std::string_view payload,
                                   std::string_view signature, serialization form) {
  const std::string header_b64 = detail::base64url_encode(protected_json);
  const std::string payload_b64 = detail::base64url_encode(payload);
  if (form == serialization::compact) return header_b64 + "." + payload_b64 + "." + std::string(signature);
  return R"({"payload":")" + payload_b64 + R"(","protected":")" + header_b64 + R"(","signature":")" +
         std::string(signature) + "\"}";
}

std::string raw_jws(std::string_view protected_json, std::string_view payload, const EVP_PKEY& key,
                    serialization form) {
  const std::string input = detail::base64url_encode(protected_json) + "." + detail::base64url_encode(payload);
  return raw_jws_with_signature(protected_json, payload, signature_of(input, key), form);
}

std::string v2_header(std::string_view alg, std::string_view sender, std::string_view recipient, std::int64_t iat,
                      std::string_view jti) {
  return R"({"alg":")" + std::string(alg) + R"(","aud":"dns:)" + std::string(recipient) + R"(?type=TLSA","iat":)" +
         std::to_string(iat) + R"(,"jti":")" + std::string(jti) + R"(","x5u":"dns:)" + std::string(sender) +
         R"(?type=TLSA"})";
}

std::int64_t seconds_of(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace danemq::jose::test
