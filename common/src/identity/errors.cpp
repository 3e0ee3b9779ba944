#include "danemq/identity/errors.hpp"

#include "danemq/core/error_category.hpp"

namespace danemq::identity {
namespace {

const char* describe(errc e) {
  switch (e) {
    case errc::ok: return "success";
    case errc::bad_dns_name: return "invalid DNS name";
    case errc::bad_key_type: return "unsupported key type";
    case errc::key_generation_failed: return "key generation failed";
    case errc::certificate_failed: return "certificate creation failed";
    case errc::bad_tlsa_parameters: return "invalid TLSA parameters";
    case errc::file_exists: return "file exists";
    case errc::file_unreadable: return "cannot read file";
    case errc::file_unwritable: return "cannot write file";
    case errc::bad_key_file: return "invalid private key file";
    case errc::bad_certificate_file: return "invalid certificate file";
    case errc::key_mismatch: return "certificate does not match private key";
    case errc::insecure_key_file: return "private key file is readable by others";
  }
  return nullptr;
}

}  // namespace

const std::error_category& identity_category() noexcept {
  static const enum_error_category<errc> instance("identity", describe);
  return instance;
}

}  // namespace danemq::identity
