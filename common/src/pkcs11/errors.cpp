#include "danemq/pkcs11/errors.hpp"

#include "danemq/core/error_category.hpp"

namespace danemq::pkcs11 {
namespace {

const char* describe(errc e) {
  switch (e) {
    case errc::ok: return "success";
    case errc::bad_uri: return "bad PKCS#11 URI";
    case errc::module_unavailable: return "PKCS#11 module unavailable";
    case errc::token_not_found: return "PKCS#11 token not found";
    case errc::pin_unusable: return "PKCS#11 PIN not accepted";
    case errc::key_not_found: return "key not found in the PKCS#11 token";
    case errc::key_exists: return "key already in the PKCS#11 token";
    case errc::operation_failed: return "PKCS#11 operation failed";
    case errc::unsupported_key: return "PKCS#11 key type not accepted";
  }
  return nullptr;
}

}  // namespace

const std::error_category& pkcs11_category() noexcept {
  static const enum_error_category<errc> instance("pkcs11", describe);
  return instance;
}

}  // namespace danemq::pkcs11
