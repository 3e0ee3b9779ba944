#include "danemq/crypto/openssl.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>

#include "danemq/core/error_category.hpp"

namespace danemq::crypto {
namespace {

const char* describe(errc e) {
  switch (e) {
    case errc::ok: return "success";
    case errc::openssl_failure: return "OpenSSL operation failed";
    case errc::bad_pem: return "not valid PEM";
    case errc::bad_der: return "not valid DER";
    case errc::unsupported_key: return "unsupported key type";
    case errc::key_unavailable: return "private key unavailable";
    case errc::key_refused: return "private key operation refused";
  }
  return nullptr;
}

unique_bio memory_bio() {
  unique_bio bio(BIO_new(BIO_s_mem()));
  if (!bio) throw std::bad_alloc();
  return bio;
}

std::string bio_contents(BIO& bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(&bio, &data);
  return {data, static_cast<std::size_t>(size)};
}

unique_bio read_only_bio(std::string_view text) {
  if (text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return nullptr;
  return unique_bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

template <class T, class Writer>
std::string pem_of(const T& object, Writer write) {
  auto bio = memory_bio();
  if (write(bio.get(), &object) != 1) throw std::runtime_error(openssl_failure("PEM encoding").message());
  return bio_contents(*bio);
}

}  // namespace

const std::error_category& crypto_category() noexcept {
  static const enum_error_category<errc> instance("crypto", describe);
  return instance;
}

std::string drain_openssl_errors() {
  std::string text;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "no OpenSSL error reported" : text;
}

failure openssl_failure(std::string_view what) {
  return fail(errc::openssl_failure, std::string(what) + " (" + drain_openssl_errors() + ")");
}

std::string to_hex(std::span<const std::uint8_t> data) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (const auto byte : data) {
    out.push_back(digits[byte >> 4]);
    out.push_back(digits[byte & 0x0f]);
  }
  return out;
}

result<bytes> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return fail(errc::bad_der, "hex string has an odd number of digits");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  bytes out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int high = nibble(hex[i]);
    const int low = nibble(hex[i + 1]);
    if (high < 0 || low < 0) return fail(errc::bad_der, "not a hex digit at offset " + std::to_string(i));
    out.push_back(static_cast<std::uint8_t>((high << 4) | low));
  }
  return out;
}

bytes sha256(std::span<const std::uint8_t> data) {
  bytes out(SHA256_DIGEST_LENGTH);
  SHA256(data.data(), data.size(), out.data());
  return out;
}

bytes sha256_of_parts(std::initializer_list<std::span<const std::uint8_t>> parts) {
  const unique_evp_md_ctx context(EVP_MD_CTX_new());
  bool done = context && EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) == 1;
  for (const auto& part : parts) done = done && EVP_DigestUpdate(context.get(), part.data(), part.size()) == 1;
  bytes out(SHA256_DIGEST_LENGTH);
  unsigned int length = 0;
  done = done && EVP_DigestFinal_ex(context.get(), out.data(), &length) == 1;
  // Only allocation fails here; a digest that cannot be taken is a broken invariant.
  if (!done) throw std::runtime_error("SHA-256: " + drain_openssl_errors());
  return out;
}

bytes sha512(std::span<const std::uint8_t> data) {
  bytes out(SHA512_DIGEST_LENGTH);
  SHA512(data.data(), data.size(), out.data());
  return out;
}

bytes certificate_der(const X509& cert) {
  unsigned char* der = nullptr;
  const int size = i2d_X509(&cert, &der);
  if (size <= 0) throw std::runtime_error(openssl_failure("certificate DER encoding").message());
  bytes out(der, der + size);
  OPENSSL_free(der);
  return out;
}

bytes public_key_der(const EVP_PKEY& key) {
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(&key, &der);
  if (size <= 0) throw std::runtime_error(openssl_failure("public key DER encoding").message());
  bytes out(der, der + size);
  OPENSSL_free(der);
  return out;
}

bytes public_key_der(const X509& cert) {
  const EVP_PKEY* key = X509_get0_pubkey(&cert);
  if (key == nullptr) throw std::runtime_error(openssl_failure("certificate public key").message());
  return public_key_der(*key);
}

result<unique_x509> certificate_from_der(std::span<const std::uint8_t> der) {
  if (der.size() > static_cast<std::size_t>(std::numeric_limits<long>::max())) {
    return fail(errc::bad_der, "certificate too large");
  }
  const unsigned char* cursor = der.data();
  unique_x509 cert(d2i_X509(nullptr, &cursor, static_cast<long>(der.size())));
  if (!cert) return fail(errc::bad_der, "certificate: " + drain_openssl_errors());
  if (cursor != der.data() + der.size()) return fail(errc::bad_der, "certificate: trailing bytes after the DER");
  return cert;
}

result<unique_evp_pkey> public_key_from_der(std::span<const std::uint8_t> der) {
  const unsigned char* cursor = der.data();
  unique_evp_pkey key(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size())));
  if (!key) return fail(errc::bad_der, "SubjectPublicKeyInfo: " + drain_openssl_errors());
  if (cursor != der.data() + der.size()) return fail(errc::bad_der, "SubjectPublicKeyInfo: trailing bytes");
  return key;
}

result<unique_x509> certificate_from_pem(std::string_view pem) {
  auto bio = read_only_bio(pem);
  if (!bio) return fail(errc::bad_pem, "certificate PEM too large");
  unique_x509 cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return fail(errc::bad_pem, "no certificate found (" + drain_openssl_errors() + ")");
  return cert;
}

namespace {

/// The key type and DER structure of an unencrypted PEM private key whose
/// type is plain from its label (and, for PKCS #8, its algorithm), so that
/// OpenSSL's decoder is asked for that one type instead of trying every
/// decoder of every key type it has, which was most of what reading its key
/// cost a one-off `send`. Nothing when it is not plain: the general path.
struct key_form {
  const char* type;
  const char* structure;
};

std::optional<key_form> form_of(std::string_view label, std::span<const unsigned char> der) {
  if (label == "RSA PRIVATE KEY") return key_form{"RSA", "type-specific"};
  if (label == "EC PRIVATE KEY") return key_form{"EC", "type-specific"};
  if (label != "PRIVATE KEY") return std::nullopt;
  const unsigned char* cursor = der.data();
  unique_pkcs8_info info(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &cursor, static_cast<long>(der.size())));
  const ASN1_OBJECT* algorithm = nullptr;
  if (!info || PKCS8_pkey_get0(&algorithm, nullptr, nullptr, nullptr, info.get()) != 1) return std::nullopt;
  switch (OBJ_obj2nid(algorithm)) {
    case NID_rsaEncryption: return key_form{"RSA", "PrivateKeyInfo"};
    case NID_X9_62_id_ecPublicKey: return key_form{"EC", "PrivateKeyInfo"};
    default: return std::nullopt;
  }
}

/// The first PEM block of `pem` decoded as its label says, or nothing (the
/// caller then reads it the general way, which also says what is wrong).
unique_evp_pkey private_key_of_plain_form(std::string_view pem) {
  auto bio = read_only_bio(pem);
  if (!bio) return nullptr;
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long length = 0;
  // In the secure heap, as PEM_read_bio_PrivateKey keeps it.
  if (PEM_read_bio_ex(bio.get(), &name, &header, &data, &length, PEM_FLAG_SECURE | PEM_FLAG_EAY_COMPATIBLE) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  const std::string label(name);
  const bool encrypted = header != nullptr && *header != '\0';
  OPENSSL_secure_free(name);
  OPENSSL_secure_free(header);
  struct cleared_bytes {
    unsigned char* data;
    std::size_t size;
    cleared_bytes(unsigned char* bytes, std::size_t length) : data(bytes), size(length) {}
    cleared_bytes(const cleared_bytes&) = delete;
    cleared_bytes& operator=(const cleared_bytes&) = delete;
    ~cleared_bytes() { OPENSSL_secure_clear_free(data, size); }
  } der(data, static_cast<std::size_t>(std::max(length, 0L)));
  const std::span<const unsigned char> bytes(der.data, der.size);
  if (encrypted) return nullptr;
  const auto form = form_of(label, bytes);
  if (!form) return nullptr;
  EVP_PKEY* key = nullptr;
  unique_decoder_ctx decoder(
      OSSL_DECODER_CTX_new_for_pkey(&key, "DER", form->structure, form->type, EVP_PKEY_KEYPAIR, nullptr, nullptr));
  const unsigned char* cursor = bytes.data();
  std::size_t left = bytes.size();
  if (!decoder || OSSL_DECODER_from_data(decoder.get(), &cursor, &left) != 1 || left != 0) {
    EVP_PKEY_free(key);
    ERR_clear_error();
    return nullptr;
  }
  return unique_evp_pkey(key);
}

}  // namespace

result<unique_evp_pkey> private_key_from_pem(std::string_view pem) {
  if (auto key = private_key_of_plain_form(pem)) return key;
  auto bio = read_only_bio(pem);
  if (!bio) return fail(errc::bad_pem, "private key PEM too large");
  // An empty passphrase callback: an encrypted key fails instead of prompting on a tty.
  auto no_passphrase = [](char*, int, int, void*) -> int { return 0; };
  unique_evp_pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) return fail(errc::bad_pem, "no unencrypted private key found (" + drain_openssl_errors() + ")");
  return key;
}

std::string to_pem(const X509& cert) {
  return pem_of(cert, PEM_write_bio_X509);
}
std::string to_pem(const X509_REQ& csr) {
  return pem_of(csr, PEM_write_bio_X509_REQ);
}
std::string public_key_to_pem(const EVP_PKEY& key) {
  return pem_of(key, PEM_write_bio_PUBKEY);
}

std::string private_key_to_pem(const EVP_PKEY& key) {
  auto bio = memory_bio();
  if (PEM_write_bio_PKCS8PrivateKey(bio.get(), &key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw std::runtime_error(openssl_failure("private key PEM encoding").message());
  }
  std::string pem = bio_contents(*bio);
  // The memory BIO's buffer held the key too: clear it before it is freed.
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  OPENSSL_cleanse(data, static_cast<std::size_t>(size));
  return pem;
}

secure_heap enable_secure_heap() noexcept {
  // 256 KiB holds a few keys and the buffers their parsing needs many times
  // over; a key is a few hundred bytes of numbers. Smallest block 32 bytes.
  static const secure_heap state = [] {
    constexpr std::size_t size = std::size_t{1} << 18;
    constexpr std::size_t min_block = 32;
    if (CRYPTO_secure_malloc_initialized() != 0) return secure_heap::locked;
    switch (CRYPTO_secure_malloc_init(size, min_block)) {
      case 1: return secure_heap::locked;
      case 2: return secure_heap::unlocked;
      default: return secure_heap::unavailable;
    }
  }();
  return state;
}

bool keep_out_of_core_dumps() noexcept {
  const rlimit no_core{0, 0};
  const bool limited = setrlimit(RLIMIT_CORE, &no_core) == 0;
  const bool undumpable = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
  return limited && undumpable;
}

void cleanse(std::string& secret) noexcept {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

key_kind kind_of(const EVP_PKEY& key) {
  if (EVP_PKEY_is_a(&key, "RSA") == 1) return key_kind::rsa;
  if (EVP_PKEY_is_a(&key, "EC") == 1) {
    char curve[64] = {};
    std::size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(&key, "group", curve, sizeof curve, &length) == 1) {
      const std::string_view name(curve, length);
      if (name == "prime256v1" || name == "P-256" || name == "secp256r1") return key_kind::ec_p256;
    }
  }
  return key_kind::other;
}

int key_bits(const EVP_PKEY& key) {
  return EVP_PKEY_get_bits(&key);
}

bool same_public_key(const EVP_PKEY& a, const EVP_PKEY& b) {
  return EVP_PKEY_eq(&a, &b) == 1;
}

}  // namespace danemq::crypto
