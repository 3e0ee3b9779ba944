#include "danemq/identity/key.hpp"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

namespace danemq::identity {

result<key_type> parse_key_type(std::string_view text) {
  if (text == "rsa-2048" || text == "rsa" || text == "rsa2048") return key_type::rsa_2048;
  if (text == "ec-p256" || text == "ec" || text == "p256" || text == "p-256") return key_type::ec_p256;
  // Appended rather than "'" + text + ...: g++ 12 at -O3 warns falsely (-Wrestrict) on that form.
  std::string detail(1, '\'');
  detail.append(text).append("' (expected rsa-2048 or ec-p256)");
  return fail(errc::bad_key_type, std::move(detail));
}

std::string_view to_string(key_type type) noexcept {
  switch (type) {
    case key_type::rsa_2048: return "rsa-2048";
    case key_type::ec_p256: return "ec-p256";
  }
  return "unknown";
}

result<crypto::unique_evp_pkey> generate_key(key_type type) {
  crypto::unique_evp_pkey key;
  switch (type) {
    case key_type::rsa_2048: key.reset(EVP_RSA_gen(2048)); break;
    case key_type::ec_p256: key.reset(EVP_EC_gen("P-256")); break;
  }
  if (!key) {
    return fail(errc::key_generation_failed, std::string(to_string(type)) + ": " + crypto::drain_openssl_errors());
  }
  return key;
}

result<void> check_acceptable_key(const EVP_PKEY& key) {
  switch (crypto::kind_of(key)) {
    case crypto::key_kind::rsa:
      if (crypto::key_bits(key) < 2048) {
        return fail(errc::bad_key_file, "RSA key of " + std::to_string(crypto::key_bits(key)) +
                                            " bits is too weak (2048 or more required)");
      }
      return ok();
    case crypto::key_kind::ec_p256: return ok();
    case crypto::key_kind::other: break;
  }
  const char* type_name = EVP_PKEY_get0_type_name(&key);
  return fail(errc::bad_key_file, std::string("key type ") + (type_name != nullptr ? type_name : "unknown") +
                                      " is not accepted (RSA >= 2048 bits or EC P-256)");
}

}  // namespace danemq::identity
