#include "danemq/pkcs11/token_key.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>

#include "pkcs11_api.hpp"

namespace danemq::pkcs11 {
namespace {

using crypto::bytes;

std::string rv_text(CK_RV rv) {
  switch (rv) {
    case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
    case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
    case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
    case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
    case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
    case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
    case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
    case CKR_KEY_TYPE_INCONSISTENT: return "CKR_KEY_TYPE_INCONSISTENT";
    case CKR_ATTRIBUTE_SENSITIVE: return "CKR_ATTRIBUTE_SENSITIVE";
    case CKR_ATTRIBUTE_TYPE_INVALID: return "CKR_ATTRIBUTE_TYPE_INVALID";
    case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
    case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
    case CKR_FUNCTION_NOT_SUPPORTED: return "CKR_FUNCTION_NOT_SUPPORTED";
    case CKR_ATTRIBUTE_READ_ONLY: return "CKR_ATTRIBUTE_READ_ONLY";
    default: break;
  }
  std::array<char, 24> text{};
  (void)std::snprintf(text.data(), text.size(), "CKR 0x%lx", static_cast<unsigned long>(rv));
  return text.data();
}

/// Errors after which the session is of no more use: the next operation
/// opens a new one (the token was removed, restarted, or logged out).
bool session_lost(CK_RV rv) {
  return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED || rv == CKR_DEVICE_REMOVED ||
         rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_DEVICE_ERROR ||
         rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID || rv == CKR_CRYPTOKI_NOT_INITIALIZED;
}

/// A token label, manufacturer, serial or model: fixed width, blank-padded.
std::string padded_text(const unsigned char* field, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(field), size);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.pop_back();
  return text;
}

/// The loaded module: dlopen'ed and C_Initialize'd once per process and path.
class loaded_module {
 public:
  loaded_module(void* handle, CK_FUNCTION_LIST_PTR functions, bool finalize)
      : handle_(handle), functions_(functions), finalize_(finalize) {}
  loaded_module(const loaded_module&) = delete;
  loaded_module& operator=(const loaded_module&) = delete;
  ~loaded_module() {
    if (finalize_) functions_->C_Finalize(nullptr);
    dlclose(handle_);
  }
  [[nodiscard]] const CK_FUNCTION_LIST& api() const noexcept { return *functions_; }

 private:
  void* handle_;
  CK_FUNCTION_LIST_PTR functions_;
  bool finalize_;
};

std::mutex registry_mutex;
std::map<std::string, std::weak_ptr<loaded_module>> loaded_modules;

result<std::shared_ptr<loaded_module>> load_module(const std::filesystem::path& path) {
  std::lock_guard lock(registry_mutex);
  if (auto existing = loaded_modules[path.string()].lock()) return existing;
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return fail(errc::module_unavailable,
                "PKCS11_MODULE " + path.string() + ": " + (why != nullptr ? why : "cannot be loaded"));
  }
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): dlsym gives a data pointer
  auto* get_function_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(handle, "C_GetFunctionList"));
  CK_FUNCTION_LIST_PTR functions = nullptr;
  if (get_function_list == nullptr || get_function_list(&functions) != CKR_OK || functions == nullptr) {
    dlclose(handle);
    return fail(errc::module_unavailable, "PKCS11_MODULE " + path.string() + " is not a PKCS#11 module");
  }
  CK_C_INITIALIZE_ARGS arguments{};
  arguments.flags = CKF_OS_LOCKING_OK;
  const CK_RV rv = functions->C_Initialize(&arguments);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    dlclose(handle);
    return fail(errc::module_unavailable, "PKCS11_MODULE " + path.string() + ": C_Initialize: " + rv_text(rv));
  }
  auto module = std::make_shared<loaded_module>(handle, functions, rv == CKR_OK);
  loaded_modules[path.string()] = module;
  return module;
}

/// The PIN from PKCS11_PIN_FILE: its first line. Refused when group or others
/// may read the file, as a key file is.
result<std::string> read_pin(const std::filesystem::path& path) {
  if (path.empty()) return fail(errc::pin_unusable, "PKCS11_PIN_FILE is not set (the token needs a PIN)");
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return fail(errc::pin_unusable, "PKCS11_PIN_FILE " + path.string() + ": " + std::strerror(errno));
  }
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return fail(errc::pin_unusable, "PKCS11_PIN_FILE " + path.string() +
                                        " is accessible by group or others; fix with: chmod 600 " + path.string());
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errc::pin_unusable, "PKCS11_PIN_FILE " + path.string() + ": " + std::strerror(errno));
  std::array<char, 256> buffer{};
  const ssize_t n = ::read(fd, buffer.data(), buffer.size());
  ::close(fd);
  std::string pin;
  pin.reserve(buffer.size());
  if (n > 0) pin.assign(buffer.data(), static_cast<std::size_t>(n));
  OPENSSL_cleanse(buffer.data(), buffer.size());
  if (const auto end = pin.find_first_of("\r\n"); end != std::string::npos) pin.resize(end);
  if (n < 0 || pin.empty()) {
    crypto::cleanse(pin);
    return fail(errc::pin_unusable, "PKCS11_PIN_FILE " + path.string() + " holds no PIN");
  }
  return pin;
}

/// A PIN file as it was when its PIN was refused: while it is unchanged,
/// that PIN is not offered again. A smart card or a TPM locks its user PIN
/// after a few wrong ones, and the services retry an unavailable key (the
/// receiver once a minute, at every start): one typo in the PIN file must not
/// spend those tries. Process-wide, as key sets are reopened.
struct pin_file_state {
  dev_t device{};
  ino_t inode{};
  off_t size{};
  std::int64_t modified_ns{};
  friend bool operator==(const pin_file_state&, const pin_file_state&) = default;
};

std::optional<pin_file_state> state_of(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::nullopt;
  return pin_file_state{info.st_dev, info.st_ino, info.st_size,
                        static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec};
}

std::mutex refused_pins_mutex;
std::map<std::string, pin_file_state> refused_pins;  // PIN file path → its state when refused

bool refused_before(const std::filesystem::path& path) {
  const auto state = state_of(path);
  std::lock_guard lock(refused_pins_mutex);
  const auto found = refused_pins.find(path.string());
  return state && found != refused_pins.end() && found->second == *state;
}

void remember_refused(const std::filesystem::path& path) {
  const auto state = state_of(path);
  if (!state) return;
  std::lock_guard lock(refused_pins_mutex);
  refused_pins[path.string()] = *state;
}

/// DER of the P-256 curve's OID, as CKA_EC_PARAMS holds it.
constexpr std::array<std::uint8_t, 10> p256_parameters{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

/// The session of one token: opened and logged in on demand, every call
/// under its mutex.
class token_session {
 public:
  token_session(std::shared_ptr<loaded_module> module, uri selector, std::filesystem::path pin_file)
      : module_(std::move(module)), selector_(std::move(selector)), pin_file_(std::move(pin_file)) {}
  token_session(const token_session&) = delete;
  token_session& operator=(const token_session&) = delete;
  ~token_session() {
    if (session_ != 0) api().C_CloseSession(session_);
  }

  [[nodiscard]] const CK_FUNCTION_LIST& api() const noexcept { return module_->api(); }
  [[nodiscard]] std::mutex& mutex() noexcept { return mutex_; }

  /// The open, logged-in session; the caller holds mutex().
  result<CK_SESSION_HANDLE> session() {
    if (session_ != 0) return session_;
    auto slot = find_slot();
    if (!slot) return slot.error();
    CK_SESSION_HANDLE opened = 0;
    CK_RV rv = api().C_OpenSession(*slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &opened);
    if (rv != CKR_OK) return fail(errc::operation_failed, describe() + ": C_OpenSession: " + rv_text(rv));
    CK_TOKEN_INFO info{};
    if (api().C_GetTokenInfo(*slot, &info) == CKR_OK && (info.flags & CKF_LOGIN_REQUIRED) != 0) {
      if ((info.flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0 && pin_file_.empty()) {
        rv = api().C_Login(opened, CKU_USER, nullptr, 0);
      } else {
        // Never spend a token's last PIN try, nor the same wrong PIN twice
        // (another process, or a person, may have got it wrong already).
        std::string refusal;
        if ((info.flags & CKF_USER_PIN_LOCKED) != 0) {
          refusal = "its user PIN is locked (CKF_USER_PIN_LOCKED): unlock it with the security officer's PIN";
        } else if ((info.flags & CKF_USER_PIN_FINAL_TRY) != 0) {
          refusal =
              "one more wrong PIN would lock it (CKF_USER_PIN_FINAL_TRY): not tried; log in once by hand with "
              "the right PIN (e.g. pkcs11-tool --login) to reset the count";
        } else if (refused_before(pin_file_)) {
          refusal = "it refused the PIN of PKCS11_PIN_FILE " + pin_file_.string() +
                    "; not offered again until that file changes (a token locks after a few wrong PINs)";
        }
        if (!refusal.empty()) {
          api().C_CloseSession(opened);
          return fail(errc::pin_unusable, describe() + ": " + refusal);
        }
        auto pin = read_pin(pin_file_);
        if (!pin) {
          api().C_CloseSession(opened);
          return pin.error();
        }
        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the PIN's bytes
        rv = api().C_Login(opened, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(pin->data()), pin->size());
        crypto::cleanse(*pin);
      }
      if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
        api().C_CloseSession(opened);
        if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_EXPIRED || rv == CKR_PIN_INVALID ||
            rv == CKR_PIN_LEN_RANGE) {
          remember_refused(pin_file_);
          return fail(errc::pin_unusable, describe() + " refuses the PIN of PKCS11_PIN_FILE " + pin_file_.string() +
                                              " (" + rv_text(rv) + ")");
        }
        return fail(errc::operation_failed, describe() + ": C_Login: " + rv_text(rv));
      }
    }
    session_ = opened;
    return session_;
  }

  /// Forgets a session the token dropped; the next call opens a new one.
  void drop() {
    if (session_ != 0) api().C_CloseSession(session_);
    session_ = 0;
  }

  /// "token 'danemq'" for messages.
  [[nodiscard]] std::string describe() const { return "PKCS#11 token '" + selector_.token.value_or("") + "'"; }

 private:
  result<CK_SLOT_ID> find_slot() {
    CK_ULONG count = 0;
    CK_RV rv = api().C_GetSlotList(CK_TRUE, nullptr, &count);
    std::vector<CK_SLOT_ID> slots(count);
    if (rv == CKR_OK && count > 0) rv = api().C_GetSlotList(CK_TRUE, slots.data(), &count);
    if (rv != CKR_OK) return fail(errc::operation_failed, "C_GetSlotList: " + rv_text(rv));
    slots.resize(count);
    for (const auto slot : slots) {
      CK_TOKEN_INFO info{};
      if (api().C_GetTokenInfo(slot, &info) != CKR_OK) continue;
      const auto matches = [](const std::optional<std::string>& wanted, const unsigned char* field, std::size_t size) {
        return !wanted || *wanted == padded_text(field, size);
      };
      if (matches(selector_.token, info.label, sizeof info.label) &&
          matches(selector_.manufacturer, info.manufacturerID, sizeof info.manufacturerID) &&
          matches(selector_.serial, info.serialNumber, sizeof info.serialNumber) &&
          matches(selector_.model, info.model, sizeof info.model)) {
        return slot;
      }
    }
    return fail(errc::token_not_found, "no slot holds the token of " + to_string(selector_) + " (" +
                                           std::to_string(slots.size()) + " token(s) present)");
  }

  std::shared_ptr<loaded_module> module_;
  uri selector_;
  std::filesystem::path pin_file_;
  std::mutex mutex_;
  CK_SESSION_HANDLE session_{0};
};

std::mutex sessions_mutex;
std::map<std::string, std::weak_ptr<token_session>> open_sessions;

/// The process's session of the token the URI names.
result<std::shared_ptr<token_session>> session_for(const token_settings& settings, const uri& selector) {
  auto module = load_module(settings.module);
  if (!module) return module.error();
  uri token_only;
  token_only.token = selector.token;
  token_only.manufacturer = selector.manufacturer;
  token_only.serial = selector.serial;
  token_only.model = selector.model;
  token_only.object = "";
  const std::string key = settings.module.string() + "\n" + to_string(token_only);
  std::lock_guard lock(sessions_mutex);
  if (auto existing = open_sessions[key].lock()) return existing;
  auto session = std::make_shared<token_session>(std::move(module).value(), selector, settings.pin_file);
  open_sessions[key] = session;
  return session;
}

/// The attribute template that selects the URI's objects of one class.
struct object_template {
  CK_OBJECT_CLASS object_class;
  std::string label;
  bytes id;
  std::vector<CK_ATTRIBUTE> attributes;

  object_template(CK_OBJECT_CLASS wanted, const uri& selector) : object_class(wanted) {
    attributes.push_back({CKA_CLASS, &object_class, sizeof object_class});
    if (selector.object) {
      label = *selector.object;
      attributes.push_back({CKA_LABEL, label.data(), label.size()});
    }
    if (selector.id) {
      id = *selector.id;
      attributes.push_back({CKA_ID, id.data(), id.size()});
    }
  }
  object_template(const object_template&) = delete;
  object_template& operator=(const object_template&) = delete;
};

/// The objects of a class the URI names; the caller holds the session's mutex.
result<std::vector<CK_OBJECT_HANDLE>> find_objects(token_session& token, CK_SESSION_HANDLE session,
                                                   CK_OBJECT_CLASS object_class, const uri& selector) {
  object_template wanted(object_class, selector);
  CK_RV rv = token.api().C_FindObjectsInit(session, wanted.attributes.data(), wanted.attributes.size());
  if (rv != CKR_OK) {
    if (session_lost(rv)) token.drop();
    return fail(errc::operation_failed, "C_FindObjectsInit: " + rv_text(rv));
  }
  std::vector<CK_OBJECT_HANDLE> found(8);
  CK_ULONG count = 0;
  rv = token.api().C_FindObjects(session, found.data(), found.size(), &count);
  token.api().C_FindObjectsFinal(session);
  if (rv != CKR_OK) return fail(errc::operation_failed, "C_FindObjects: " + rv_text(rv));
  found.resize(count);
  return found;
}

result<bytes> attribute_of(token_session& token, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                           CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE attribute{type, nullptr, 0};
  CK_RV rv = token.api().C_GetAttributeValue(session, object, &attribute, 1);
  if (rv != CKR_OK || attribute.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
    return fail(errc::operation_failed, "C_GetAttributeValue: " + rv_text(rv));
  }
  bytes value(attribute.ulValueLen);
  attribute.pValue = value.data();
  rv = token.api().C_GetAttributeValue(session, object, &attribute, 1);
  if (rv != CKR_OK) return fail(errc::operation_failed, "C_GetAttributeValue: " + rv_text(rv));
  value.resize(attribute.ulValueLen);
  return value;
}

result<bool> flag_of(token_session& token, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
  auto value = attribute_of(token, session, object, type);
  if (!value) return value.error();
  return !value->empty() && (*value)[0] != 0;
}

/// The public key of a CKO_PUBLIC_KEY object, as OpenSSL's.
result<crypto::unique_evp_pkey> public_key_of(token_session& token, CK_SESSION_HANDLE session,
                                              CK_OBJECT_HANDLE object) {
  auto key_type_bytes = attribute_of(token, session, object, CKA_KEY_TYPE);
  if (!key_type_bytes || key_type_bytes->size() != sizeof(CK_KEY_TYPE)) {
    return fail(errc::operation_failed, "the public key object has no key type");
  }
  CK_KEY_TYPE key_type = 0;
  std::memcpy(&key_type, key_type_bytes->data(), sizeof key_type);
  const crypto::unique_ossl_param_bld builder(OSSL_PARAM_BLD_new());
  crypto::unique_bignum modulus;
  crypto::unique_bignum exponent;
  bytes point;
  const char* algorithm = nullptr;
  if (key_type == CKK_EC) {
    auto parameters = attribute_of(token, session, object, CKA_EC_PARAMS);
    if (!parameters ||
        !std::equal(parameters->begin(), parameters->end(), p256_parameters.begin(), p256_parameters.end())) {
      return fail(errc::unsupported_key, "an EC key on another curve than P-256");
    }
    auto encoded = attribute_of(token, session, object, CKA_EC_POINT);
    if (!encoded) return encoded.error();
    // A DER OCTET STRING as the standard says, or the bare point some modules give.
    point = std::move(encoded).value();
    if (point.size() == 67 && point[0] == 0x04 && point[1] == 0x41) point.erase(point.begin(), point.begin() + 2);
    if (point.size() != 65 || point[0] != 0x04) return fail(errc::unsupported_key, "an EC point that is not P-256");
    algorithm = "EC";
    if (!builder || OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
      return fail(errc::operation_failed, "EC public key: " + crypto::drain_openssl_errors());
    }
  } else if (key_type == CKK_RSA) {
    auto n = attribute_of(token, session, object, CKA_MODULUS);
    if (!n) return n.error();
    auto e = attribute_of(token, session, object, CKA_PUBLIC_EXPONENT);
    if (!e) return e.error();
    modulus.reset(BN_bin2bn(n->data(), static_cast<int>(n->size()), nullptr));
    exponent.reset(BN_bin2bn(e->data(), static_cast<int>(e->size()), nullptr));
    algorithm = "RSA";
    if (!builder || !modulus || !exponent ||
        OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) != 1) {
      return fail(errc::operation_failed, "RSA public key: " + crypto::drain_openssl_errors());
    }
  } else {
    return fail(errc::unsupported_key, "a key neither RSA nor EC");
  }
  const crypto::unique_ossl_param parameters(OSSL_PARAM_BLD_to_param(builder.get()));
  const crypto::unique_evp_pkey_ctx context(EVP_PKEY_CTX_new_from_name(nullptr, algorithm, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!parameters || !context || EVP_PKEY_fromdata_init(context.get()) != 1 ||
      EVP_PKEY_fromdata(context.get(), &raw, EVP_PKEY_PUBLIC_KEY, parameters.get()) != 1) {
    return fail(errc::operation_failed, "public key: " + crypto::drain_openssl_errors());
  }
  crypto::unique_evp_pkey key(raw);
  const auto kind = crypto::kind_of(*key);
  if (kind == crypto::key_kind::other || (kind == crypto::key_kind::rsa && crypto::key_bits(*key) < 2048)) {
    return fail(errc::unsupported_key, "RSA keys of 2048 bits or more and EC P-256 keys only");
  }
  return key;
}

/// The key's private operations in the token.
class token_operations final : public crypto::key_operations {
 public:
  token_operations(std::shared_ptr<token_session> token, uri selector, crypto::key_kind kind, std::size_t size)
      : token_(std::move(token)), selector_(std::move(selector)), kind_(kind), size_(size) {}

  [[nodiscard]] result<bytes> sign_sha256_digest(std::span<const std::uint8_t> digest) const override {
    if (kind_ == crypto::key_kind::ec_p256) {
      CK_MECHANISM mechanism{CKM_ECDSA, nullptr, 0};
      auto signature = run(mechanism, digest, &CK_FUNCTION_LIST::C_SignInit, &CK_FUNCTION_LIST::C_Sign, 64);
      if (signature && signature->size() != 64) return fail(crypto::errc::openssl_failure, "ECDSA signature size");
      return signature;
    }
    // RSASSA-PKCS1-v1_5: the token pads a DigestInfo of SHA-256.
    static constexpr std::array<std::uint8_t, 19> sha256_prefix{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                                0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                                0x01, 0x05, 0x00, 0x04, 0x20};
    bytes digest_info(sha256_prefix.begin(), sha256_prefix.end());
    digest_info.insert(digest_info.end(), digest.begin(), digest.end());
    CK_MECHANISM mechanism{CKM_RSA_PKCS, nullptr, 0};
    return run(mechanism, digest_info, &CK_FUNCTION_LIST::C_SignInit, &CK_FUNCTION_LIST::C_Sign, size_);
  }

  [[nodiscard]] result<bytes> derive_shared_secret(const EVP_PKEY& peer) const override {
    bytes point(65);
    std::size_t length = 0;
    if (EVP_PKEY_get_octet_string_param(&peer, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size(), &length) != 1 ||
        length != point.size()) {
      ERR_clear_error();
      return fail(crypto::errc::key_refused, "ECDH: the peer key is not an uncompressed P-256 point");
    }
    CK_ECDH1_DERIVE_PARAMS parameters{CKD_NULL, 0, nullptr, point.size(), point.data()};
    CK_MECHANISM mechanism{CKM_ECDH1_DERIVE, &parameters, sizeof parameters};
    CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
    CK_KEY_TYPE secret_type = CKK_GENERIC_SECRET;
    CK_ULONG secret_length = 32;
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL no = CK_FALSE;
    // A session object that gives its value: the shared secret, not the key.
    // Not CKA_PRIVATE: a session object is this application's alone and lives
    // for one call, and SoftHSM would encrypt and decrypt it once more.
    std::array<CK_ATTRIBUTE, 7> secret_template{{{CKA_CLASS, &secret_class, sizeof secret_class},
                                                 {CKA_KEY_TYPE, &secret_type, sizeof secret_type},
                                                 {CKA_VALUE_LEN, &secret_length, sizeof secret_length},
                                                 {CKA_TOKEN, &no, sizeof no},
                                                 {CKA_PRIVATE, &no, sizeof no},
                                                 {CKA_SENSITIVE, &no, sizeof no},
                                                 {CKA_EXTRACTABLE, &yes, sizeof yes}}};
    std::lock_guard lock(token_->mutex());
    auto session = open();
    if (!session) return session.error();
    CK_OBJECT_HANDLE secret = 0;
    const CK_RV rv = token_->api().C_DeriveKey(session->first, &mechanism, session->second, secret_template.data(),
                                               secret_template.size(), &secret);
    if (rv != CKR_OK) return failed("C_DeriveKey", rv);
    auto value = attribute_of(*token_, session->first, secret, CKA_VALUE);
    token_->api().C_DestroyObject(session->first, secret);
    if (!value) return fail(crypto::errc::key_unavailable, describe() + ": " + value.error().detail);
    return value;
  }

  [[nodiscard]] result<bytes> decrypt_raw(std::span<const std::uint8_t> block) const override {
    CK_MECHANISM mechanism{CKM_RSA_X_509, nullptr, 0};
    auto decrypted = run(mechanism, block, &CK_FUNCTION_LIST::C_DecryptInit, &CK_FUNCTION_LIST::C_Decrypt, size_);
    // Some tokens strip the leading zero bytes of the block: put them back.
    if (decrypted && decrypted->size() < size_) decrypted->insert(decrypted->begin(), size_ - decrypted->size(), 0);
    return decrypted;
  }

  [[nodiscard]] std::string describe() const override { return to_string(selector_); }

 private:
  using init_function = CK_RV (*)(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE);
  using run_function = CK_RV (*)(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR);

  /// The session and the private key object; the caller holds the mutex.
  [[nodiscard]] result<std::pair<CK_SESSION_HANDLE, CK_OBJECT_HANDLE>> open() const {
    auto session = token_->session();
    if (!session) return fail(crypto::errc::key_unavailable, describe() + ": " + session.error().message());
    if (session_ != *session || object_ == 0) {
      auto found = find_objects(*token_, *session, CKO_PRIVATE_KEY, selector_);
      if (!found || found->empty()) {
        return fail(crypto::errc::key_unavailable,
                    describe() + ": " + (found ? "the private key is not in the token" : found.error().message()));
      }
      session_ = *session;
      object_ = found->front();
    }
    return std::pair{session_, object_};
  }

  [[nodiscard]] failure failed(const char* what, CK_RV rv) const {
    if (session_lost(rv)) {
      token_->drop();
      object_ = 0;
      return fail(crypto::errc::key_unavailable, describe() + ": " + what + ": " + rv_text(rv));
    }
    return fail(crypto::errc::key_refused, describe() + ": " + what + ": " + rv_text(rv));
  }

  [[nodiscard]] result<bytes> run(CK_MECHANISM& mechanism, std::span<const std::uint8_t> input,
                                  init_function CK_FUNCTION_LIST::*init, run_function CK_FUNCTION_LIST::*operation,
                                  std::size_t output_size) const {
    std::lock_guard lock(token_->mutex());
    auto session = open();
    if (!session) return session.error();
    CK_RV rv = (token_->api().*init)(session->first, &mechanism, session->second);
    if (rv != CKR_OK) return failed("init", rv);
    bytes output(output_size);
    CK_ULONG length = output.size();
    bytes copy(input.begin(), input.end());
    rv = (token_->api().*operation)(session->first, copy.data(), copy.size(), output.data(), &length);
    if (rv != CKR_OK) {
      OPENSSL_cleanse(output.data(), output.size());
      return failed("operation", rv);
    }
    output.resize(length);
    return output;
  }

  std::shared_ptr<token_session> token_;
  uri selector_;
  crypto::key_kind kind_;
  std::size_t size_;  ///< bytes of a signature or an RSA block
  // Found again after the session was lost; guarded by the session's mutex.
  mutable CK_SESSION_HANDLE session_{0};
  mutable CK_OBJECT_HANDLE object_{0};
};

/// The key the URI names in an open session; the caller holds the mutex.
result<token_key> key_in(const std::shared_ptr<token_session>& token, CK_SESSION_HANDLE session, const uri& selector) {
  auto privates = find_objects(*token, session, CKO_PRIVATE_KEY, selector);
  if (!privates) return privates.error();
  if (privates->empty()) return fail(errc::key_not_found, "no private key matches " + to_string(selector));
  if (privates->size() > 1) return fail(errc::key_not_found, "several private keys match " + to_string(selector));
  auto publics = find_objects(*token, session, CKO_PUBLIC_KEY, selector);
  if (!publics) return publics.error();
  if (publics->size() != 1) {
    return fail(errc::key_not_found, "no single public key object matches " + to_string(selector));
  }
  auto public_key = public_key_of(*token, session, publics->front());
  if (!public_key) return public_key.error();
  const auto kind = crypto::kind_of(**public_key);
  const auto size =
      static_cast<std::size_t>(kind == crypto::key_kind::ec_p256 ? 64 : EVP_PKEY_get_size(public_key->get()));
  return token_key{std::move(public_key).value(), std::make_shared<token_operations>(token, selector, kind, size)};
}

/// The token of a URI for one call: its mutex held and its session open
/// (members in this order, so that the lock is released before the token goes).
struct held_session {
  std::shared_ptr<token_session> token;
  uri selector;
  std::unique_lock<std::mutex> lock;
  CK_SESSION_HANDLE session{0};
};

/// What every call on the key of `settings` starts with. Failures of
/// open_token_key before the key is looked for.
result<held_session> hold_session(const token_settings& settings) {
  if (settings.key_uri.empty()) return fail(errc::bad_uri, "IDENTITY_KEY_URI is not set");
  auto selector = parse_uri(settings.key_uri);
  if (!selector) return fail(errc::bad_uri, "IDENTITY_KEY_URI: " + selector.error().detail);
  auto token = session_for(settings, *selector);
  if (!token) return token.error();
  held_session held{std::move(token).value(), std::move(selector).value(), {}, 0};
  held.lock = std::unique_lock(held.token->mutex());
  auto session = held.token->session();
  if (!session) return session.error();
  held.session = *session;
  return held;
}

/// The private and public key objects `selector` names; the caller holds the mutex.
result<std::vector<CK_OBJECT_HANDLE>> key_objects(token_session& token, CK_SESSION_HANDLE session,
                                                  const uri& selector) {
  std::vector<CK_OBJECT_HANDLE> objects;
  for (const CK_OBJECT_CLASS object_class : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}) {
    auto found = find_objects(token, session, object_class, selector);
    if (!found) return found.error();
    objects.insert(objects.end(), found->begin(), found->end());
  }
  return objects;
}

}  // namespace

result<token_key> open_token_key(const token_settings& settings) {
  auto held = hold_session(settings);
  if (!held) return held.error();
  return key_in(held->token, held->session, held->selector);
}

result<token_key> generate_token_key(const token_settings& settings, crypto::key_kind kind, bool replace) {
  auto held = hold_session(settings);
  if (!held) return held.error();
  auto& token = held->token;
  const auto& selector = held->selector;
  const CK_SESSION_HANDLE session = held->session;
  auto existing = key_objects(*token, session, selector);
  if (!existing) return existing.error();
  if (!existing->empty() && !replace) {
    return fail(errc::key_exists,
                "the token already holds a key for " + to_string(selector) + " (use --force to replace it)");
  }
  for (const auto object : *existing) token->api().C_DestroyObject(session, object);

  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  std::string label = selector.object.value_or("");
  bytes id = selector.id.value_or(bytes{});
  std::vector<CK_ATTRIBUTE> public_template{{CKA_TOKEN, &yes, sizeof yes}, {CKA_VERIFY, &yes, sizeof yes}};
  std::vector<CK_ATTRIBUTE> private_template{{CKA_TOKEN, &yes, sizeof yes},
                                             {CKA_PRIVATE, &yes, sizeof yes},
                                             {CKA_SENSITIVE, &yes, sizeof yes},
                                             {CKA_EXTRACTABLE, &no, sizeof no},
                                             {CKA_SIGN, &yes, sizeof yes}};
  for (auto* attributes : {&public_template, &private_template}) {
    if (!label.empty()) attributes->push_back({CKA_LABEL, label.data(), label.size()});
    if (!id.empty()) attributes->push_back({CKA_ID, id.data(), id.size()});
  }
  bytes curve(p256_parameters.begin(), p256_parameters.end());
  CK_ULONG modulus_bits = 2048;
  std::array<CK_BYTE, 3> public_exponent{0x01, 0x00, 0x01};
  CK_MECHANISM mechanism{CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  if (kind == crypto::key_kind::ec_p256) {
    public_template.push_back({CKA_EC_PARAMS, curve.data(), curve.size()});
    private_template.push_back({CKA_DERIVE, &yes, sizeof yes});
  } else if (kind == crypto::key_kind::rsa) {
    mechanism.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
    public_template.push_back({CKA_MODULUS_BITS, &modulus_bits, sizeof modulus_bits});
    public_template.push_back({CKA_PUBLIC_EXPONENT, public_exponent.data(), public_exponent.size()});
    public_template.push_back({CKA_ENCRYPT, &yes, sizeof yes});
    private_template.push_back({CKA_DECRYPT, &yes, sizeof yes});
  } else {
    return fail(errc::unsupported_key, "only RSA 2048 and EC P-256 keys are made");
  }
  CK_OBJECT_HANDLE public_object = 0;
  CK_OBJECT_HANDLE private_object = 0;
  const CK_RV rv =
      token->api().C_GenerateKeyPair(session, &mechanism, public_template.data(), public_template.size(),
                                     private_template.data(), private_template.size(), &public_object, &private_object);
  if (rv != CKR_OK) {
    if (session_lost(rv)) token->drop();
    return fail(errc::operation_failed, token->describe() + ": C_GenerateKeyPair: " + rv_text(rv));
  }
  return key_in(token, session, selector);
}

result<private_key_attributes> inspect_private_key(const token_settings& settings) {
  auto held = hold_session(settings);
  if (!held) return held.error();
  auto& token = held->token;
  const auto& selector = held->selector;
  const CK_SESSION_HANDLE session = held->session;
  auto found = find_objects(*token, session, CKO_PRIVATE_KEY, selector);
  if (!found) return found.error();
  if (found->size() != 1) return fail(errc::key_not_found, "no single private key matches " + to_string(selector));
  private_key_attributes out;
  const std::pair<CK_ATTRIBUTE_TYPE, bool*> flags[] = {{CKA_EXTRACTABLE, &out.extractable},
                                                       {CKA_SENSITIVE, &out.sensitive},
                                                       {CKA_NEVER_EXTRACTABLE, &out.never_extractable},
                                                       {CKA_TOKEN, &out.on_token}};
  for (const auto& [type, field] : flags) {
    auto value = flag_of(*token, session, found->front(), type);
    if (!value) return value.error();
    *field = *value;
  }
  return out;
}

result<std::string> sibling_key_uri(std::string_view key_uri, std::string_view suffix) {
  auto selector = parse_uri(key_uri);
  if (!selector) return fail(errc::bad_uri, "IDENTITY_KEY_URI: " + selector.error().detail);
  if (selector->object) *selector->object += suffix;
  if (selector->id) selector->id->insert(selector->id->end(), suffix.begin(), suffix.end());
  return to_string(*selector);
}

result<void> relabel_token_key(const token_settings& settings, std::string_view to_uri) {
  auto target = parse_uri(to_uri);
  if (!target) return fail(errc::bad_uri, std::string(to_uri) + ": " + target.error().detail);
  auto held = hold_session(settings);
  if (!held) return held.error();
  auto& token = *held->token;
  auto objects = key_objects(token, held->session, held->selector);
  if (!objects) return objects.error();
  if (objects->empty()) return fail(errc::key_not_found, "no key object matches " + to_string(held->selector));
  auto taken = key_objects(token, held->session, *target);
  if (!taken) return taken.error();
  if (!taken->empty()) return fail(errc::key_exists, "the token already holds a key for " + to_string(*target));
  std::string label = target->object.value_or("");
  bytes id = target->id.value_or(bytes{});
  std::vector<CK_ATTRIBUTE> names;
  if (target->object) names.push_back({CKA_LABEL, label.data(), label.size()});
  if (target->id) names.push_back({CKA_ID, id.data(), id.size()});
  for (const auto object : *objects) {
    const CK_RV rv = token.api().C_SetAttributeValue(held->session, object, names.data(), names.size());
    if (rv != CKR_OK) {
      if (session_lost(rv)) token.drop();
      return fail(errc::operation_failed, token.describe() + ": C_SetAttributeValue (" + to_string(held->selector) +
                                              " to " + to_string(*target) + "): " + rv_text(rv));
    }
  }
  return ok();
}

result<void> destroy_token_key(const token_settings& settings) {
  auto held = hold_session(settings);
  if (!held) return held.error();
  auto& token = *held->token;
  auto objects = key_objects(token, held->session, held->selector);
  if (!objects) return objects.error();
  for (const auto object : *objects) {
    const CK_RV rv = token.api().C_DestroyObject(held->session, object);
    if (rv != CKR_OK) {
      if (session_lost(rv)) token.drop();
      return fail(errc::operation_failed,
                  token.describe() + ": C_DestroyObject (" + to_string(held->selector) + "): " + rv_text(rv));
    }
  }
  return ok();
}

}  // namespace danemq::pkcs11
