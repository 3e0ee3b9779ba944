#pragma once
// OpenSSL handles owned by std::unique_ptr with named deleters, declared once
// here for the whole project, plus the few conversions every module needs
// (PEM/DER, hex, SHA-2 digests) and the error queue turned into text.

#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/core/result.hpp"

namespace danemq::crypto {

struct evp_pkey_deleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct evp_pkey_ctx_deleter {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct evp_md_ctx_deleter {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct evp_cipher_ctx_deleter {
  void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); }
};
struct evp_kdf_deleter {
  void operator()(EVP_KDF* p) const noexcept { EVP_KDF_free(p); }
};
struct evp_kdf_ctx_deleter {
  void operator()(EVP_KDF_CTX* p) const noexcept { EVP_KDF_CTX_free(p); }
};
struct x509_deleter {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
struct x509_req_deleter {
  void operator()(X509_REQ* p) const noexcept { X509_REQ_free(p); }
};
struct x509_store_deleter {
  void operator()(X509_STORE* p) const noexcept { X509_STORE_free(p); }
};
struct x509_store_ctx_deleter {
  void operator()(X509_STORE_CTX* p) const noexcept { X509_STORE_CTX_free(p); }
};
struct x509_stack_deleter {
  void operator()(STACK_OF(X509) * p) const noexcept { sk_X509_pop_free(p, X509_free); }
};
struct bio_deleter {
  void operator()(BIO* p) const noexcept { BIO_free_all(p); }
};
struct bignum_deleter {
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
struct general_names_deleter {
  void operator()(GENERAL_NAMES* p) const noexcept { GENERAL_NAMES_free(p); }
};
struct ossl_param_bld_deleter {
  void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); }
};
struct ossl_param_deleter {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct ecdsa_sig_deleter {
  void operator()(ECDSA_SIG* p) const noexcept { ECDSA_SIG_free(p); }
};
struct pkcs8_info_deleter {
  void operator()(PKCS8_PRIV_KEY_INFO* p) const noexcept { PKCS8_PRIV_KEY_INFO_free(p); }
};
struct decoder_ctx_deleter {
  void operator()(OSSL_DECODER_CTX* p) const noexcept { OSSL_DECODER_CTX_free(p); }
};

using unique_evp_pkey = std::unique_ptr<EVP_PKEY, evp_pkey_deleter>;
using unique_evp_pkey_ctx = std::unique_ptr<EVP_PKEY_CTX, evp_pkey_ctx_deleter>;
using unique_evp_md_ctx = std::unique_ptr<EVP_MD_CTX, evp_md_ctx_deleter>;
using unique_evp_cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, evp_cipher_ctx_deleter>;
using unique_evp_kdf = std::unique_ptr<EVP_KDF, evp_kdf_deleter>;
using unique_evp_kdf_ctx = std::unique_ptr<EVP_KDF_CTX, evp_kdf_ctx_deleter>;
using unique_x509 = std::unique_ptr<X509, x509_deleter>;
using unique_x509_req = std::unique_ptr<X509_REQ, x509_req_deleter>;
using unique_x509_store = std::unique_ptr<X509_STORE, x509_store_deleter>;
using unique_x509_store_ctx = std::unique_ptr<X509_STORE_CTX, x509_store_ctx_deleter>;
using unique_x509_stack = std::unique_ptr<STACK_OF(X509), x509_stack_deleter>;
using unique_bio = std::unique_ptr<BIO, bio_deleter>;
using unique_bignum = std::unique_ptr<BIGNUM, bignum_deleter>;
using unique_general_names = std::unique_ptr<GENERAL_NAMES, general_names_deleter>;
using unique_ecdsa_sig = std::unique_ptr<ECDSA_SIG, ecdsa_sig_deleter>;
using unique_ossl_param_bld = std::unique_ptr<OSSL_PARAM_BLD, ossl_param_bld_deleter>;
using unique_ossl_param = std::unique_ptr<OSSL_PARAM, ossl_param_deleter>;
using unique_pkcs8_info = std::unique_ptr<PKCS8_PRIV_KEY_INFO, pkcs8_info_deleter>;
using unique_decoder_ctx = std::unique_ptr<OSSL_DECODER_CTX, decoder_ctx_deleter>;

using bytes = std::vector<std::uint8_t>;

/// Errors of the crypto module.
enum class errc {
  ok = 0,
  openssl_failure,  ///< an OpenSSL call failed; the detail holds its error queue
  bad_pem,          ///< input is not PEM of the expected kind
  bad_der,          ///< input is not DER of the expected kind
  unsupported_key,  ///< a key type outside our allow-list (RSA >= 2048, EC P-256)
  key_unavailable,  ///< a key outside the process (a PKCS#11 token) cannot be used now: try again later
  key_refused,      ///< the key refused the operation (a peer key of another curve, a bad RSA block)
};
const std::error_category& crypto_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), crypto_category()};
}

/// Drains OpenSSL's whole thread-local error queue into one line ("a; b; c"),
/// or "no OpenSSL error reported" when it is empty.
[[nodiscard]] std::string drain_openssl_errors();

/// A failure of code openssl_failure naming `what` failed, with the drained queue.
[[nodiscard]] failure openssl_failure(std::string_view what);

/// Lowercase hex of the bytes.
[[nodiscard]] std::string to_hex(std::span<const std::uint8_t> data);
/// Bytes of a hex string (either case, no separators); failure bad_der on bad input.
[[nodiscard]] result<bytes> from_hex(std::string_view hex);

/// SHA-256 / SHA-512 digests.
[[nodiscard]] bytes sha256(std::span<const std::uint8_t> data);
[[nodiscard]] bytes sha512(std::span<const std::uint8_t> data);
/// SHA-256 of the parts one after the other, without joining them first (a
/// payload too large to copy is digested where it lies).
[[nodiscard]] bytes sha256_of_parts(std::initializer_list<std::span<const std::uint8_t>> parts);

/// The whole DER encoding of a certificate.
[[nodiscard]] bytes certificate_der(const X509& cert);
/// The DER SubjectPublicKeyInfo of a certificate's or key's public key.
[[nodiscard]] bytes public_key_der(const X509& cert);
[[nodiscard]] bytes public_key_der(const EVP_PKEY& key);

/// Parses one certificate from DER; failure bad_der with OpenSSL's reason.
[[nodiscard]] result<unique_x509> certificate_from_der(std::span<const std::uint8_t> der);
/// Parses a public key from DER SubjectPublicKeyInfo; failure bad_der.
[[nodiscard]] result<unique_evp_pkey> public_key_from_der(std::span<const std::uint8_t> der);

/// Parses the first certificate of a PEM text; failure bad_pem.
[[nodiscard]] result<unique_x509> certificate_from_pem(std::string_view pem);
/// Parses an unencrypted private key from PEM (PKCS#8 or traditional); failure bad_pem.
/// The text is not copied beyond OpenSSL's own parse.
[[nodiscard]] result<unique_evp_pkey> private_key_from_pem(std::string_view pem);

/// PEM text of a certificate / CSR / public key / private key (PKCS#8, unencrypted).
[[nodiscard]] std::string to_pem(const X509& cert);
[[nodiscard]] std::string to_pem(const X509_REQ& csr);
[[nodiscard]] std::string public_key_to_pem(const EVP_PKEY& key);
/// The returned string holds key material: callers keep it short-lived and
/// clear it with cleanse() once written.
[[nodiscard]] std::string private_key_to_pem(const EVP_PKEY& key);

/// Overwrites a buffer that held secrets before it is released.
void cleanse(std::string& secret) noexcept;

/// How the secure heap came up.
enum class secure_heap { locked, unlocked, unavailable };
/// Starts OpenSSL's secure heap (once per process; later calls report the
/// first outcome): private-key numbers and PEM buffers of private keys are
/// then kept in a separate mapping with guard pages, left out of core dumps,
/// and locked in memory so they are never swapped out. `unlocked` when
/// mlock was not permitted (RLIMIT_MEMLOCK): the heap works, only unlocked.
/// `unavailable` when it could not be set up; OpenSSL then uses the normal
/// heap, still cleansing on free.
secure_heap enable_secure_heap() noexcept;

/// Keeps the process's memory, and so its private key, out of core dumps and
/// away from other processes of the same user: no core file (RLIMIT_CORE 0)
/// and not dumpable (PR_SET_DUMPABLE 0: no ptrace, /proc/<pid>/mem owned by
/// root). Returns false when either could not be set.
bool keep_out_of_core_dumps() noexcept;

/// The key kinds danemq accepts for identities.
enum class key_kind { rsa, ec_p256, other };
/// RSA (any size; callers check the size) or EC on P-256; everything else is `other`.
[[nodiscard]] key_kind kind_of(const EVP_PKEY& key);
/// Size of the key in bits (RSA modulus, EC field).
[[nodiscard]] int key_bits(const EVP_PKEY& key);

/// True when both keys have the same public part.
[[nodiscard]] bool same_public_key(const EVP_PKEY& a, const EVP_PKEY& b);

}  // namespace danemq::crypto

template <>
struct std::is_error_code_enum<danemq::crypto::errc> : std::true_type {};
