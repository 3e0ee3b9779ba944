#include "danemq/jose/message.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <exception>
#include <vector>

#include "danemq/identity/dns_name.hpp"
#include "danemq/jose/dns_uri.hpp"
#include "danemq/jose/jwe.hpp"
#include "encoding.hpp"

namespace danemq::jose {
namespace {

using clock = std::chrono::system_clock;

/// A failed DANE lookup of a peer as one of our errors: the receiver must
/// tell a temporary DNS failure (retry later) from a refusal.
failure lookup_failure(const failure& cause, std::string_view role, std::string_view name) {
  // The name once: the lookup's own detail is often that name again.
  const std::string detail = std::string(role) + " " + std::string(name) + ": " +
                             (cause.detail == name ? cause.code.message() : cause.message());
  if (cause.code.category() == dane::dane_category()) {
    switch (static_cast<dane::errc>(cause.code.value())) {
      case dane::errc::nxdomain:
      case dane::errc::nodata: return fail(errc::unknown_in_dns, detail);
      case dane::errc::insecure:
      case dane::errc::bogus: return fail(errc::not_dnssec_secure, detail);
      case dane::errc::timeout:
      case dane::errc::servfail:
      case dane::errc::network_error:
      case dane::errc::lookup_throttled: return fail(errc::lookup_temporarily_failed, detail);
      default: break;
    }
  }
  return fail(errc::lookup_failed, detail);
}

result<dane::dane_identity_ptr> look_up(dane::identity_source& peers, std::string_view role, const std::string& name,
                                        bool require_dnssec) {
  auto found = peers.discover(name);
  if (!found) return lookup_failure(found.error(), role, name);
  const auto& identity = *found;
  if (!identity || identity->keys.empty()) {
    return fail(errc::lookup_failed, std::string(role) + " " + name + ": discovery returned no key");
  }
  if (require_dnssec && !identity->dnssec_secure) {
    return fail(errc::not_dnssec_secure, std::string(role) + " " + name + ": TLSA answer is not DNSSEC-secure");
  }
  return found;
}

result<std::string> our_name(const identity::local_identity& me) {
  if (!me.key) return fail(errc::unsupported_key, "our identity has no private key");
  auto name = identity::canonical_dns_name(me.name);
  if (!name) return fail(errc::bad_format, "our own name: " + name.error().detail);
  return name;
}

clock::time_point now_of(const std::optional<clock::time_point>& pinned) {
  return pinned ? *pinned : clock::now();
}

result<std::string> random_jti() {
  crypto::bytes random(16);
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return fail(errc::internal_error, "random jti: " + crypto::drain_openssl_errors());
  }
  return detail::base64url_encode(random);
}

/// How many bytes of text fit in `limit` bytes of sealed message, from one
/// message that did not: the text is base64url-encoded twice (the JWS
/// payload, then the JWE ciphertext of the JWS), so each byte costs 16/9 of
/// a byte on the wire, beside an overhead of headers, signature, key and tag
/// that does not depend on the text. Rounded down, with a margin for padding.
std::size_t text_that_fits(std::size_t text_size, std::size_t wire_size, std::size_t limit) {
  const double per_byte = 16.0 / 9.0;
  const double overhead = static_cast<double>(wire_size) - static_cast<double>(text_size) * per_byte;
  const double room = (static_cast<double>(limit) - overhead) / per_byte - 8.0;
  return room > 0 ? static_cast<std::size_t>(room) : 0;
}

/// Runs `body`, turning an escaping exception into internal_error: no failure
/// leaves the API as an exception.
template <class Body>
auto guarded(const char* what, Body body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    return fail(errc::internal_error, std::string(what) + ": " + e.what());
  } catch (...) {
    return fail(errc::internal_error, std::string(what) + ": unknown exception");
  }
}

result<sealed_message> seal_message(const message_to_send& message, const identity::local_identity& me,
                                    dane::identity_source& peers, const seal_options& options) {
  if (options.format == message_format::compat && (options.request_receipt || options.receipt)) {
    return fail(errc::bad_format, "the original's format has no receipts");
  }
  if (options.receipt && (options.request_receipt || !message.text.empty())) {
    return fail(errc::bad_format, "a receipt carries no text and asks for no receipt");
  }
  auto sender = our_name(me);
  if (!sender) return sender.error();
  auto recipient = identity::canonical_dns_name(message.recipient);
  if (!recipient) return fail(errc::bad_format, "recipient: " + recipient.error().detail);
  if (!detail::is_valid_utf8(message.text)) return fail(errc::bad_format, "message text is not valid UTF-8");

  // The lookup comes first: no private-key work for a recipient we cannot reach.
  auto peer = look_up(peers, "recipient", *recipient, options.require_dnssec);
  if (!peer) return peer.error();
  const EVP_PKEY* recipient_key = (*peer)->keys.front().public_key.get();
  if (recipient_key == nullptr) return fail(errc::lookup_failed, "recipient " + *recipient + ": key missing");

  jws_header_fields fields;
  std::string recipient_uri;
  if (options.format == message_format::compat) {
    fields.x5u = original_dns_uri(*sender);
    recipient_uri = original_dns_uri(*recipient);
  } else {
    fields.x5u = dns_uri(*sender);
    recipient_uri = dns_uri(*recipient);
    fields.aud = recipient_uri;
    fields.iat = std::chrono::duration_cast<std::chrono::seconds>(now_of(options.now).time_since_epoch()).count();
    auto jti = random_jti();
    if (!jti) return jti.error();
    fields.jti = std::move(jti).value();
    fields.receipt_request = options.request_receipt;
    fields.receipt = options.receipt;
  }
  auto signed_text = sign_jws(message.text, me.private_key(), fields, options.form);
  if (!signed_text) return signed_text.error();
  auto wire = encrypt_jwe(*signed_text, *recipient_key, recipient_uri, options.form);
  if (!wire) return wire.error();
  if (options.max_message_size != 0 && wire->size() > options.max_message_size) {
    return fail(errc::too_large,
                "sealed message of " + std::to_string(wire->size()) + " bytes (limit " +
                    std::to_string(options.max_message_size) + " bytes): about " +
                    std::to_string(text_that_fits(message.text.size(), wire->size(), options.max_message_size)) +
                    " characters of text fit for this sender and recipient (ASCII; fewer of other "
                    "scripts, which take more bytes in UTF-8)");
  }
  auto parts = parse_jws(*signed_text, signed_text->size());
  if (!parts) return parts.error();
  return sealed_message{std::move(wire).value(), fields.jti, note_digest(parts->protected_b64, parts->payload_b64)};
}

/// The v2 claims, or none of them (legacy); refuses a mixture.
result<bool> check_claims(const protected_header& header, const std::string& us, const open_options& options,
                          clock::time_point now) {
  // cppcheck 2.10 stops on this line with an internal error of its own.
  // cppcheck-suppress cppcheckError
  const int present = int{header.aud.has_value()} + int{header.iat.has_value()} + int{header.jti.has_value()};
  if (present == 0) {
    if (!options.accept_legacy) {
      return fail(errc::legacy_refused,
                  "no signed recipient, time or id (the original's format); ACCEPT_LEGACY is off");
    }
    return true;
  }
  if (present != 3) return fail(errc::bad_format, "signed header has some of aud, iat, jti but not all three");
  auto audience = name_from_audience(*header.aud);
  if (!audience) return audience.error();
  if (*audience != us) return fail(errc::not_for_us, "signed for " + *audience + ", not for " + us);
  // The jti ends up in logs and in the replay memory's keys: printable ASCII only.
  const bool printable =
      std::all_of(header.jti->begin(), header.jti->end(), [](char c) { return c > 0x20 && c < 0x7f; });
  if (header.jti->empty() || header.jti->size() > 128 || !printable) {
    return fail(errc::bad_format, "jti is empty, too long or not printable ASCII");
  }

  // iat is attacker-chosen until verified: compare in milliseconds as
  // integers, never as a time_point (nanoseconds), which a huge value would
  // overflow. The arrival time keeps its milliseconds: a message half a
  // second past the horizon is past it.
  constexpr std::int64_t limit = std::int64_t{1} << 40;
  if (*header.iat > limit || *header.iat < -limit) return fail(errc::bad_format, "iat out of range");
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::chrono::milliseconds age(now_ms - *header.iat * 1000);
  if (age > options.max_age) {
    return fail(errc::too_old, "issued " + std::to_string(age.count()) + " ms before arrival (horizon " +
                                   std::to_string(options.max_age.count()) + " s)");
  }
  if (-age > options.max_clock_skew) {
    return fail(errc::from_the_future, "issued " + std::to_string((-age).count()) + " ms after arrival (skew allowed " +
                                           std::to_string(options.max_clock_skew.count()) + " s)");
  }
  return false;
}

/// Decrypts with whichever of our keys the message was encrypted to: the one
/// place that knows an identity may hold several (a key rotation). Failure
/// bad_algorithm when `alg` fits none of them, decryption_failed when none
/// opens it, and decrypt_jwe's other failures as they come.
result<std::string> decrypt_with_any(const parsed_jwe& jwe, const std::vector<crypto::private_key>& keys,
                                     std::size_t max_plaintext_size) {
  std::optional<failure> first_misfit;
  std::optional<failure> last_failure;
  for (const auto& key : keys) {
    auto decrypted = decrypt_jwe(jwe, key, max_plaintext_size);
    if (decrypted) return decrypted;
    if (decrypted.error().code == errc::bad_algorithm) {
      if (!first_misfit) first_misfit = decrypted.error();
      continue;
    }
    if (decrypted.error().code != errc::decryption_failed) return decrypted.error();
    last_failure = decrypted.error();
  }
  if (!last_failure) {
    if (first_misfit) return *first_misfit;
    return fail(errc::unsupported_key, "our identity has no private key");
  }
  if (keys.size() == 1) return *last_failure;
  return fail(errc::decryption_failed, "none of our " + std::to_string(keys.size()) + " keys decrypts the message");
}

result<opened_message> open_message(std::string_view wire, const std::string& name,
                                    const std::vector<crypto::private_key>& keys, dane::identity_source& peers,
                                    const open_options& options, replay_memory* replay) {
  if (wire.size() > options.max_message_size) {
    return fail(errc::too_large, "message of " + std::to_string(wire.size()) + " bytes (MAX_MESSAGE_SIZE " +
                                     std::to_string(options.max_message_size) + ")");
  }
  if (keys.empty()) return fail(errc::unsupported_key, "our identity has no private key");
  auto us = identity::canonical_dns_name(name);
  if (!us) return fail(errc::bad_format, "our own name: " + us.error().detail);
  const auto now = now_of(options.now);

  auto jwe = parse_jwe(wire, options.max_message_size, options.max_plaintext_size);
  if (!jwe) return jwe.error();
  if (!jwe->header.x5u) return fail(errc::bad_format, "JWE names no recipient ('x5u')");
  auto addressed = name_from_dns_uri(*jwe->header.x5u);
  if (!addressed) return addressed.error();
  if (*addressed != *us) return fail(errc::not_for_us, "encrypted for " + *addressed + ", not for " + *us);

  auto signed_text = decrypt_with_any(*jwe, keys, options.max_plaintext_size);
  if (!signed_text) return signed_text.error();
  auto jws = parse_jws(*signed_text, options.max_plaintext_size);
  if (!jws) return jws.error();
  if (!jws->header.x5u) return fail(errc::bad_format, "JWS names no signer ('x5u')");
  auto sender = name_from_dns_uri(*jws->header.x5u);
  if (!sender) return sender.error();
  // Before the claimed name costs a DNS query: a publisher on an open broker
  // can name any zone, including one that answers slowly or never.
  if (!options.allowed_senders.allows(*sender)) {
    return fail(errc::sender_not_allowed, *sender + " is not on ALLOWED_SENDERS");
  }
  auto legacy = check_claims(jws->header, *us, options, now);
  if (!legacy) return legacy.error();
  if (!detail::is_valid_utf8(jws->payload)) return fail(errc::bad_format, "message text is not valid UTF-8");
  if (jwe->header.receipt || jwe->header.receipt_request) {
    return fail(errc::bad_format, "receipt members belong in the signed (JWS) header");
  }
  if (jws->header.receipt && (*legacy || jws->header.receipt_request || !jws->payload.empty())) {
    return fail(errc::bad_format, "a receipt must be v2, carry no text and ask for no receipt");
  }

  auto peer = look_up(peers, "sender", *sender, options.require_dnssec);
  if (!peer) return peer.error();
  bool fitting_key = false;
  bool verified = false;
  for (const auto& key : (*peer)->keys) {
    if (!key.public_key) continue;
    auto checked = verify_jws(*jws, *key.public_key);
    if (checked) {
      verified = true;
      break;
    }
    fitting_key = fitting_key || checked.error().code != errc::bad_algorithm;
  }
  if (!verified) {
    if (!fitting_key) return fail(errc::bad_algorithm, jws->header.alg + " fits none of " + *sender + "'s keys");
    return fail(errc::signature_failed, "no key of " + *sender + " verifies the signature");
  }

  opened_message out;
  out.sender = std::move(sender).value();
  out.recipient = *us;
  out.legacy = *legacy;
  out.receipt_requested = !out.legacy && jws->header.receipt_request;
  out.receipt = jws->header.receipt;
  out.note_digest = note_digest(jws->protected_b64, jws->payload_b64);
  out.dnssec_secure = (*peer)->dnssec_secure;
  out.outer_form = jwe->form;
  out.inner_form = jws->form;
  if (!out.legacy) {
    out.issued_at = clock::time_point(std::chrono::seconds(*jws->header.iat));
    out.jti = jws->header.jti;
    out.replay_expires_at = *out.issued_at + options.max_age + options.max_clock_skew;
    if (replay != nullptr) {
      if (options.remember_in_open) {
        auto verdict = replay->remember(out.sender, *out.jti, now, *out.replay_expires_at);
        if (!verdict) return fail(errc::replay_memory_failed, verdict.error().message());
        if (*verdict == replay_memory::verdict::seen_before) {
          return fail(errc::replay, "jti " + *out.jti + " of " + out.sender + " was seen before");
        }
      } else {
        auto seen = replay->seen(out.sender, *out.jti, now);
        if (!seen) return fail(errc::replay_memory_failed, seen.error().message());
        if (*seen) return fail(errc::replay, "jti " + *out.jti + " of " + out.sender + " was seen before");
      }
    }
  }
  out.text = std::move(jws->payload);
  return out;
}

}  // namespace

result<sealed_message> seal_note(const message_to_send& message, const identity::local_identity& me,
                                 dane::identity_source& peers, const seal_options& options) {
  return guarded("seal", [&] { return seal_message(message, me, peers, options); });
}

result<std::string> seal(const message_to_send& message, const identity::local_identity& me,
                         dane::identity_source& peers, const seal_options& options) {
  auto sealed = seal_note(message, me, peers, options);
  if (!sealed) return sealed.error();
  return std::move(sealed->wire);
}

result<opened_message> open(std::string_view wire, const identity::local_identity& me, dane::identity_source& peers,
                            const open_options& options, replay_memory* replay) {
  std::vector<crypto::private_key> keys;
  if (me.key) keys.push_back(me.private_key());
  return guarded("open", [&] { return open_message(wire, me.name, keys, peers, options, replay); });
}

result<opened_message> open(std::string_view wire, const identity::key_set& keys, dane::identity_source& peers,
                            const open_options& options, replay_memory* replay) {
  std::vector<crypto::private_key> private_keys;
  for (const auto& key : keys.keys) {
    if (key.key) private_keys.push_back(key.private_key());
  }
  return guarded("open", [&] { return open_message(wire, keys.name, private_keys, peers, options, replay); });
}

}  // namespace danemq::jose
