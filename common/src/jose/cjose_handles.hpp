#pragma once
// cjose handles owned by std::unique_ptr with named deleters, declared once
// for the jose module (the only one that uses cjose), and cjose's error
// struct turned into text.

#include <cjose/cjose.h>

#include <cstdint>
#include <memory>
#include <string>

namespace danemq::jose::detail {

struct cjose_jwk_deleter {
  void operator()(cjose_jwk_t* p) const noexcept { cjose_jwk_release(p); }
};
struct cjose_jws_deleter {
  void operator()(cjose_jws_t* p) const noexcept { cjose_jws_release(p); }
};
struct cjose_jwe_deleter {
  void operator()(cjose_jwe_t* p) const noexcept { cjose_jwe_release(p); }
};
struct cjose_header_deleter {
  void operator()(cjose_header_t* p) const noexcept { cjose_header_release(p); }
};
/// Buffers cjose allocates for the caller (exported text, decrypted content).
struct cjose_buffer_deleter {
  void operator()(void* p) const noexcept { cjose_get_dealloc()(p); }
};

using unique_cjose_jwk = std::unique_ptr<cjose_jwk_t, cjose_jwk_deleter>;
using unique_cjose_jws = std::unique_ptr<cjose_jws_t, cjose_jws_deleter>;
using unique_cjose_jwe = std::unique_ptr<cjose_jwe_t, cjose_jwe_deleter>;
using unique_cjose_header = std::unique_ptr<cjose_header_t, cjose_header_deleter>;
using unique_cjose_text = std::unique_ptr<char, cjose_buffer_deleter>;
using unique_cjose_bytes = std::unique_ptr<std::uint8_t, cjose_buffer_deleter>;

/// "<message> in <function>" for logs and failure details.
inline std::string describe(const cjose_err& err) {
  std::string text = err.message != nullptr ? err.message : "unknown cjose error";
  if (err.function != nullptr) text += std::string(" in ") + err.function;
  return text;
}

}  // namespace danemq::jose::detail
