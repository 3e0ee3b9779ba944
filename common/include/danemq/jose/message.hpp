#pragma once
// danemq's message format: sign, then encrypt. The text is signed by the
// sender (JWS, its DNS URI in `x5u`), the JWS text is encrypted to the
// recipient (JWE, the recipient's DNS URI in `x5u`), and peers' keys come
// from DANE through an identity_source.
//
// Two formats:
//   compat — exactly the original's (Python dane-jwe-jws over jwcrypto):
//            JWS {"alg","x5u":"dns://<sender>?type=TLSA"}. No recipient
//            binding, no freshness: the original's receivers accept it.
//   v2     — the JWS protected header also carries `aud` (the recipient's
//            DNS URI: a signed note cannot be re-encrypted to someone else),
//            `iat` (seconds) and a random `jti` (replay detection), and
//            writes x5u as "dns:<name>?type=TLSA". The original's receivers
//            accept it too: they ignore the extra members and read either URI.
//
// Opening runs every check before the expensive or trusting steps: size,
// syntax, algorithm allow-lists, our name, freshness; then decryption, DANE
// lookup of the signer, signature, replay. Every failure is a value naming
// its reason (errors.hpp); nothing throws out of seal() or open().

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/dane/identity_source.hpp"
#include "danemq/identity/identity_files.hpp"
#include "danemq/identity/key_set.hpp"
#include "danemq/identity/name_allow_list.hpp"
#include "danemq/jose/errors.hpp"
#include "danemq/jose/jws.hpp"
#include "danemq/jose/replay_memory.hpp"

namespace danemq::jose {

enum class message_format { compat, v2 };

/// MAX_MESSAGE_SIZE of the original's receiver: bytes of the encrypted wire text.
inline constexpr std::size_t default_max_message_size = 4096;
/// MESSAGE_MAX_AGE, the acceptance horizon (receiver and sender alike).
inline constexpr std::chrono::seconds default_max_age{std::chrono::days(7)};

struct message_to_send {
  std::string recipient;  ///< the recipient's identity (DNS name)
  std::string text;       ///< UTF-8
};

struct seal_options {
  message_format format{message_format::v2};
  serialization form{serialization::flattened_json};  ///< of both layers
  /// Refuse (too_large) to produce a message longer than this: the receiver
  /// would drop it. Zero: no limit.
  std::size_t max_message_size{default_max_message_size};
  /// Encrypt only to keys whose TLSA answer was DNSSEC-secure.
  bool require_dnssec{true};
  /// The `iat` to write; the system clock when unset (tests pin it).
  std::optional<std::chrono::system_clock::time_point> now;
  /// v2: ask the recipient for a signed receipt (danemq_receipt_request).
  bool request_receipt{false};
  /// v2: this note is a receipt for the one named (danemq_receipt, in
  /// `crit`); its text is empty and it never asks for a receipt itself.
  std::optional<receipt_claim> receipt;
};

/// A sealed message and what names its signed note.
struct sealed_message {
  std::string wire;
  std::optional<std::string> jti;  ///< v2
  std::string note_digest;         ///< note_digest() of the JWS: what a receipt names
};

/// Signs `message.text` with our key, looks the recipient up through
/// `peers` and encrypts to the first of its keys (dane_identity::keys[0]).
/// Returns the wire text. Failures: bad_format (recipient is not a DNS name,
/// text is not UTF-8), unsupported_key (ours or the recipient's),
/// unknown_in_dns / not_dnssec_secure / lookup_failed /
/// lookup_temporarily_failed (the recipient's lookup), too_large,
/// internal_error.
[[nodiscard]] result<std::string> seal(const message_to_send& message, const identity::local_identity& me,
                                       dane::identity_source& peers, const seal_options& options = {});
/// seal(), also returning the note's jti and digest (for the sent log and receipts).
[[nodiscard]] result<sealed_message> seal_note(const message_to_send& message, const identity::local_identity& me,
                                               dane::identity_source& peers, const seal_options& options = {});

struct open_options {
  /// MAX_MESSAGE_SIZE: longest wire text, checked before anything is parsed.
  std::size_t max_message_size{default_max_message_size};
  /// Longest decrypted JWS text, checked on the ciphertext length before
  /// decryption and on the plaintext after.
  std::size_t max_plaintext_size{default_max_message_size};
  /// ACCEPT_LEGACY: accept messages without `aud`/`iat`/`jti` (the original's
  /// format), reported with opened_message::legacy set. They cannot be
  /// checked for recipient binding, freshness or replay.
  bool accept_legacy{false};
  /// Refuse (not_dnssec_secure) a sender whose TLSA answer was not DNSSEC-secure.
  bool require_dnssec{true};
  /// ALLOWED_SENDERS: the names that may write to us, checked on the signer's
  /// claimed name before it is looked up (sender_not_allowed). Default: anyone.
  identity::name_allow_list allowed_senders{};
  /// MESSAGE_MAX_AGE, the acceptance horizon: a v2 message whose `iat` is
  /// older than this at `now` (in milliseconds, not rounded) is refused
  /// (too_old). Days, not minutes: a device may be offline that long while
  /// the broker and the sender's outbox keep its messages.
  std::chrono::seconds max_age{default_max_age};
  /// How far in the future `iat` may be (sender's clock ahead of ours).
  std::chrono::seconds max_clock_skew{std::chrono::seconds(60)};
  /// With a replay memory: true, open() remembers (sender, jti) itself
  /// (replay_memory::remember, atomic). false, open() only asks
  /// replay_memory::seen and the caller remembers
  /// opened_message::replay_expires_at together with storing the message (the
  /// receiver does, in one transaction: a crash in between neither loses the
  /// message nor lets it be replayed).
  bool remember_in_open{true};
  /// The time to check against; the system clock when unset (tests pin it).
  std::optional<std::chrono::system_clock::time_point> now;
};

struct opened_message {
  std::string sender;     ///< the signer's canonical DNS name, whose DANE key verified the signature
  std::string recipient;  ///< our canonical name, as the message addressed us
  std::string text;       ///< the signed text, valid UTF-8
  std::optional<std::chrono::system_clock::time_point> issued_at;  ///< `iat` (v2)
  std::optional<std::string> jti;                                  ///< (v2)
  /// (v2) Until when (sender, jti) must be remembered at least: `iat` +
  /// max_age + max_clock_skew, after which a copy is refused as too old anyway.
  std::optional<std::chrono::system_clock::time_point> replay_expires_at;
  /// (v2) The sender asks for a signed receipt.
  bool receipt_requested{false};
  /// (v2) This note is a receipt (its text is empty): for the note it names.
  std::optional<receipt_claim> receipt;
  std::string note_digest;    ///< note_digest() of the verified JWS
  bool legacy{false};         ///< the original's format: no recipient binding, freshness or replay check
  bool dnssec_secure{false};  ///< the sender's TLSA answer was DNSSEC-secure
  serialization outer_form{serialization::flattened_json};  ///< of the JWE
  serialization inner_form{serialization::flattened_json};  ///< of the JWS
};

/// Decrypts a message addressed to `me`, verifies it was signed by the
/// identity its JWS `x5u` names (looked up through `peers`) and applies the
/// rules above. `replay` may be null only where replay does not matter
/// (tools, tests): then v2 messages are not checked for replay.
/// Failures: too_large, bad_format, bad_algorithm, unsupported_extension,
/// not_for_us, sender_not_allowed, legacy_refused, too_old, from_the_future, decryption_failed,
/// unknown_in_dns, not_dnssec_secure, lookup_failed,
/// lookup_temporarily_failed, signature_failed, replay,
/// replay_memory_failed, unsupported_key, internal_error. is_temporary()
/// tells which of them are worth retrying.
[[nodiscard]] result<opened_message> open(std::string_view wire, const identity::local_identity& me,
                                          dane::identity_source& peers, const open_options& options = {},
                                          replay_memory* replay = nullptr);

/// The same for an identity in the middle of a key rotation: the message is
/// decrypted with whichever key of `keys` (current, next, previous) it was
/// encrypted to. Failure decryption_failed when none of them opens it.
[[nodiscard]] result<opened_message> open(std::string_view wire, const identity::key_set& keys,
                                          dane::identity_source& peers, const open_options& options = {},
                                          replay_memory* replay = nullptr);

}  // namespace danemq::jose
