#pragma once
// The broker plugin's decisions, apart from Mosquitto: who is admitted
// (basic auth), what an admitted client may do (ACL), and which connected
// clients lost their admission. Every method is called on the broker's
// thread (plugin.cpp); only the DNS lookups run elsewhere (lookup_pool), so
// the state here needs no lock.
//
// Admission of user N with password T, in this order, each step refusing
// with its reason: N is a canonical DNS name on allowed_names (before any
// DNS query); the client id is N or begins with "N/"; T parses as a token
// (jose/mqtt_token.hpp) whose iss is N, whose aud is this broker and whose
// iat is fresh; N's TLSA answer, from the warm cache or a lookup awaited at
// most lookup_wait, is DNSSEC-secure and one of its keys verifies T; T's
// jti was not seen within max_token_age (remembered only once the signature
// verified, so that forged tokens cannot fill the memory).
//
// Revocation: a client stays admitted until its name's cache entry expires
// (the TLSA TTL, capped by cache_max_ttl). Then the tick event starts a
// lookup on the plugin's threads, and a later tick disconnects the client
// unless the answer is secure and still holds the key it signed with.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/crypto/openssl.hpp"
#include "danemq/dane/identity_source.hpp"
#include "danemq/jose/replay_memory.hpp"
#include "lookup_pool.hpp"
#include "plugin_settings.hpp"

namespace danemq::mosquitto_auth {

/// What the basic-auth event answers.
struct auth_outcome {
  bool admitted{false};
  std::string reason;  ///< why not, for the log; no secret in it
};

enum class access { subscribe, read, write, unsubscribe };

class admission {
 public:
  using clock = std::chrono::steady_clock;

  admission(plugin_settings settings, std::shared_ptr<dane::identity_source> source);

  /// The basic-auth decision for `connection` (an opaque handle, the
  /// broker's client). `user` and `password` may be null (anonymous).
  [[nodiscard]] auth_outcome authenticate(const void* connection, const char* user, const char* password,
                                          std::string_view client_id, std::chrono::system_clock::time_point now);

  /// The ACL decision for a client admitted as `user`: subscribe and read
  /// only prefix + user (and $SYS/ when sys_topics), write only prefix + a
  /// canonical DNS name, unsubscribe anything.
  [[nodiscard]] bool allows(const char* user, std::string_view topic, access kind) const;

  /// The broker dropped `connection`: it is no longer re-checked.
  void disconnected(const void* connection);

  /// From the tick event: starts the re-checks of clients whose admission
  /// expired, and returns the client ids to disconnect (a re-check found the
  /// record gone, replaced, or no longer secure), with the reason for each.
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> due_disconnections(clock::time_point now);

  [[nodiscard]] std::size_t connected_clients() const { return clients_.size(); }
  [[nodiscard]] const plugin_settings& settings() const { return settings_; }

 private:
  struct admitted_client {
    std::string client_id;
    std::string name;
    crypto::bytes key_der;          ///< the key that verified its token
    clock::time_point valid_until;  ///< its name's cache expiry
    std::optional<std::shared_future<lookup_result>> recheck;
  };

  /// The identity of `name` from the warm cache, or awaited at most lookup_wait.
  [[nodiscard]] result<dane::dane_identity_ptr> identity_of(const std::string& name, clock::time_point now);
  void remember_identity(const std::string& name, const dane::dane_identity_ptr& identity, clock::time_point now);

  plugin_settings settings_;
  lookup_pool lookups_;
  jose::in_memory_replay_memory seen_tokens_;
  /// Secure identities whose cache entry is live: the auth event answers from here without waiting.
  std::map<std::string, dane::dane_identity_ptr, std::less<>> warm_;
  std::map<const void*, admitted_client> clients_;
};

/// The reason a lookup failure refuses a name, for the log.
[[nodiscard]] std::string describe_lookup_failure(const failure& cause);

}  // namespace danemq::mosquitto_auth
