#include "admission.hpp"

#include <algorithm>

#include "danemq/core/display_text.hpp"
#include "danemq/dane/errors.hpp"
#include "danemq/identity/dns_name.hpp"
#include "danemq/jose/mqtt_token.hpp"

namespace danemq::mosquitto_auth {
namespace {

/// Bound on the warm cache; expired entries go first when it is full.
constexpr std::size_t max_warm_names = 10'000;
/// A re-check that failed for a temporary reason (timeout, SERVFAIL) is tried again this much later.
constexpr std::chrono::seconds recheck_retry{5};

auth_outcome refused(std::string reason) {
  return {false, std::move(reason)};
}

bool temporary(const failure& cause) {
  if (cause.code.category() != dane::dane_category()) return true;
  switch (static_cast<dane::errc>(cause.code.value())) {
    case dane::errc::timeout:
    case dane::errc::servfail:
    case dane::errc::network_error:
    case dane::errc::lookup_throttled: return true;
    default: return false;
  }
}

bool holds_key(const dane::dane_identity& identity, const crypto::bytes& key_der) {
  return std::any_of(identity.keys.begin(), identity.keys.end(),
                     [&](const dane::trusted_key& key) { return crypto::public_key_der(*key.public_key) == key_der; });
}

}  // namespace

std::string describe_lookup_failure(const failure& cause) {
  return "DANE lookup: " + cause.message();
}

admission::admission(plugin_settings settings, std::shared_ptr<dane::identity_source> source)
    : settings_(std::move(settings)), lookups_(std::move(source), settings_.lookup_threads) {}

result<dane::dane_identity_ptr> admission::identity_of(const std::string& name, clock::time_point now) {
  if (const auto warm = warm_.find(name); warm != warm_.end()) {
    if (warm->second->valid_until > now) return warm->second;
    warm_.erase(warm);
  }
  auto answer = lookups_.look_up(name);
  if (answer.wait_for(settings_.lookup_wait) != std::future_status::ready) {
    return fail(dane::errc::timeout, "the lookup did not finish within " +
                                         std::to_string(settings_.lookup_wait.count()) +
                                         " ms (it goes on: a retry finds the answer)");
  }
  auto found = answer.get();
  if (!found) return found.error();
  const auto& identity = *found;
  if (!identity || identity->keys.empty()) return fail(dane::errc::no_usable_record, "no key in the TLSA answer");
  if (!identity->dnssec_secure) return fail(dane::errc::insecure, "the TLSA answer is not DNSSEC-secure");
  remember_identity(name, identity, clock::now());
  return found;
}

void admission::remember_identity(const std::string& name, const dane::dane_identity_ptr& identity,
                                  clock::time_point now) {
  if (identity->valid_until <= now) return;
  if (warm_.size() >= max_warm_names)
    std::erase_if(warm_, [&](const auto& entry) { return entry.second->valid_until <= now; });
  if (warm_.size() >= max_warm_names) warm_.erase(warm_.begin());
  warm_.insert_or_assign(name, identity);
}

auth_outcome admission::authenticate(const void* connection, const char* user, const char* password,
                                     std::string_view client_id, std::chrono::system_clock::time_point now) {
  if (user == nullptr || *user == '\0') return refused("anonymous (no user name)");
  const std::string_view name(user);
  auto canonical = identity::canonical_dns_name(name);
  if (!canonical) return refused("user name is not a DNS name: " + canonical.error().detail);
  if (*canonical != name) return refused("user name is not in canonical form (lower case, no final dot)");
  if (!settings_.allowed_names.allows(name)) return refused("name is not on allowed_names");
  if (client_id != name &&
      !(client_id.size() > name.size() && client_id.starts_with(name) && client_id[name.size()] == '/')) {
    return refused("client id " + core::escape_for_display(client_id) +
                   " is neither the name nor begins with the name and /");
  }
  if (password == nullptr || *password == '\0') return refused("no token (empty password)");
  auto token = jose::parse_mqtt_token(password);
  if (!token) return refused("token: " + token.error().message());
  const jose::mqtt_token_policy policy{settings_.audience, settings_.max_token_age, settings_.allowed_skew};
  if (auto fresh = jose::check_mqtt_token_claims(*token, name, policy, now); !fresh) {
    return refused("token: " + fresh.error().message());
  }
  auto identity = identity_of(*canonical, clock::now());
  if (!identity) return refused(describe_lookup_failure(identity.error()));
  const dane::trusted_key* signer = nullptr;
  for (const auto& key : (*identity)->keys) {
    if (jose::verify_mqtt_token(*token, *key.public_key)) {
      signer = &key;
      break;
    }
  }
  if (signer == nullptr) return refused("token: no key of the TLSA records verifies its signature");
  const auto forget_after = now + settings_.max_token_age + settings_.allowed_skew;
  auto first = seen_tokens_.remember(name, token->claims.jti, now, forget_after);
  if (!first) return refused("replay memory: " + first.error().message());
  if (*first == jose::replay_memory::verdict::seen_before) return refused("token replayed (its jti was seen before)");
  clients_.insert_or_assign(
      connection, admitted_client{std::string(client_id), *canonical, crypto::public_key_der(*signer->public_key),
                                  (*identity)->valid_until, std::nullopt});
  return {true, {}};
}

bool admission::allows(const char* user, std::string_view topic, access kind) const {
  if (kind == access::unsubscribe) return true;
  if (user == nullptr) return false;
  const std::string_view name(user);
  const std::string_view prefix(settings_.topic_prefix);
  if (kind == access::write) {
    if (!topic.starts_with(prefix)) return false;
    const std::string_view recipient = topic.substr(prefix.size());
    auto canonical = identity::canonical_dns_name(recipient);
    return canonical && *canonical == recipient;
  }
  if (settings_.sys_topics && topic.starts_with("$SYS/")) return true;
  return topic.size() == prefix.size() + name.size() && topic.starts_with(prefix) && topic.ends_with(name);
}

void admission::disconnected(const void* connection) {
  clients_.erase(connection);
}

std::vector<std::pair<std::string, std::string>> admission::due_disconnections(clock::time_point now) {
  std::vector<std::pair<std::string, std::string>> due;
  for (auto it = clients_.begin(); it != clients_.end();) {
    auto& client = it->second;
    if (!client.recheck) {
      if (client.valid_until <= now) client.recheck = lookups_.look_up(client.name);
      ++it;
      continue;
    }
    if (client.recheck->wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      ++it;
      continue;
    }
    const auto answer = client.recheck->get();
    client.recheck.reset();
    std::string reason;
    if (!answer) {
      if (temporary(answer.error())) {
        client.valid_until = now + recheck_retry;
        ++it;
        continue;
      }
      reason = describe_lookup_failure(answer.error());
    } else if (!*answer || !(*answer)->dnssec_secure) {
      reason = "the TLSA answer is no longer DNSSEC-secure";
    } else if (!holds_key(**answer, client.key_der)) {
      reason = "the TLSA records no longer hold the key it signed with";
    } else {
      client.valid_until = std::max((*answer)->valid_until, now + std::chrono::seconds(1));
      remember_identity(client.name, *answer, now);
      ++it;
      continue;
    }
    warm_.erase(client.name);
    due.emplace_back(client.client_id, std::move(reason));
    it = clients_.erase(it);
  }
  return due;
}

}  // namespace danemq::mosquitto_auth
