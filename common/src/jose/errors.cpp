#include "danemq/jose/errors.hpp"

#include "danemq/core/error_category.hpp"

namespace danemq::jose {
namespace {

const char* describe(errc e) {
  switch (e) {
    case errc::ok: return "success";
    case errc::bad_format: return "malformed message";
    case errc::bad_algorithm: return "algorithm not accepted";
    case errc::unsupported_extension: return "unsupported critical header";
    case errc::too_large: return "message too large";
    case errc::not_for_us: return "message not addressed to us";
    case errc::legacy_refused: return "legacy message without recipient binding refused";
    case errc::too_old: return "message too old";
    case errc::from_the_future: return "message issued in the future";
    case errc::replay: return "message replayed";
    case errc::decryption_failed: return "decryption failed";
    case errc::signature_failed: return "signature verification failed";
    case errc::unknown_in_dns: return "identity unknown in DNS";
    case errc::not_dnssec_secure: return "identity not DNSSEC-secure";
    case errc::lookup_failed: return "identity lookup failed";
    case errc::lookup_temporarily_failed: return "identity lookup failed temporarily";
    case errc::replay_memory_failed: return "replay memory failed";
    case errc::unsupported_key: return "key type not accepted";
    case errc::internal_error: return "internal JOSE error";
    case errc::sender_not_allowed: return "sender not allowed";
    case errc::processing_failed_repeatedly: return "processing failed repeatedly";
    case errc::sender_over_quota: return "sender over quota";
    case errc::unexpected_receipt: return "unexpected receipt";
    case errc::key_unavailable: return "private key unavailable";
  }
  return nullptr;
}

}  // namespace

const std::error_category& jose_category() noexcept {
  static const enum_error_category<errc> instance("jose", describe);
  return instance;
}

bool is_temporary(const std::error_code& code) noexcept {
  return code == errc::lookup_temporarily_failed || code == errc::replay_memory_failed || code == errc::key_unavailable;
}

}  // namespace danemq::jose
