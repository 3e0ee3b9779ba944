#pragma once
// cjose handles owned by std::unique_ptr with named deleters, declared once
// for the jose module (the only one that uses cjose), and cjose's error
// struct turned into text.

#include <cjose/cjose.h>

#include <cstdint>
#include <memory>
#include <string>

namespace danemq::jose::detail {

struct CjoseJwkDeleter {
  void operator()(cjose_jwk_t* p) const noexcept { cjose_jwk_release(p); }
};
struct CjoseJwsDeleter {
  void operator()(cjose_jws_t* p) const noexcept { cjose_jws_release(p); }
};
struct CjoseJweDeleter {
  void operator()(cjose_jwe_t* p) const noexcept { cjose_jwe_release(p); }
};
struct CjoseHeaderDeleter {
  void operator()(cjose_header_t* p) const noexcept { cjose_header_release(p); }
};
/// Buffers cjose allocates for the caller (exported text, decrypted content).
struct CjoseBufferDeleter {
  void operator()(void* p) const noexcept { cjose_get_dealloc()(p); }
};

using unique_cjose_jwk = std::unique_ptr<cjose_jwk_t, CjoseJwkDeleter>;
using unique_cjose_jws = std::unique_ptr<cjose_jws_t, CjoseJwsDeleter>;
using unique_cjose_jwe = std::unique_ptr<cjose_jwe_t, CjoseJweDeleter>;
using unique_cjose_header = std::unique_ptr<cjose_header_t, CjoseHeaderDeleter>;
using unique_cjose_text = std::unique_ptr<char, CjoseBufferDeleter>;
using unique_cjose_bytes = std::unique_ptr<std::uint8_t, CjoseBufferDeleter>;

/// "<message> in <function>" for logs and failure details.
inline std::string describe(const cjose_err& err) {
  std::string text = err.message != nullptr ? err.message : "unknown cjose error";
  if (err.function != nullptr) text += std::string(" in ") + err.function;
  return text;
}

}  // namespace danemq::jose::detail
