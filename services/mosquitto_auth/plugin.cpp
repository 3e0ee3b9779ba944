// danemq_mosquitto_auth.so: Mosquitto 2.0 (plugin API 5) admits devices by
// their DANE identity. The C entry points and event callbacks only: they
// cast the user data back to the plugin and hand off to admission, which
// decides. Mosquitto calls every event on its one thread.

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include <chrono>
#include <exception>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "admission.hpp"
#include "danemq/core/display_text.hpp"
#include "danemq/dane/discovery.hpp"
#include "listener_check.hpp"
#include "plugin_settings.hpp"

namespace danemq::mosquitto_auth {
namespace {

constexpr const char* log_prefix = "danemq auth: ";

struct plugin {
  mosquitto_plugin_id_t* id{nullptr};
  std::unique_ptr<admission> decide;
};

std::string shown(const char* text) {
  return text == nullptr ? std::string("(none)") : core::escape_for_display(text);
}

int on_basic_auth(int /*event*/, void* event_data, void* user_data) {
  auto* self = static_cast<plugin*>(user_data);
  auto* event = static_cast<mosquitto_evt_basic_auth*>(event_data);
  try {
    const char* client_id = mosquitto_client_id(event->client);
    const auto outcome =
        self->decide->authenticate(event->client, event->username, event->password,
                                   client_id == nullptr ? "" : client_id, std::chrono::system_clock::now());
    if (outcome.admitted) {
      mosquitto_log_printf(MOSQ_LOG_INFO, "%sadmitted %s as %s from %s", log_prefix, shown(client_id).c_str(),
                           shown(event->username).c_str(), shown(mosquitto_client_address(event->client)).c_str());
      return MOSQ_ERR_SUCCESS;
    }
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "%srefused %s as %s from %s: %s", log_prefix, shown(client_id).c_str(),
                         shown(event->username).c_str(), shown(mosquitto_client_address(event->client)).c_str(),
                         outcome.reason.c_str());
  } catch (const std::exception& broken) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "%srefused a client: %s", log_prefix, broken.what());
  }
  return MOSQ_ERR_AUTH;
}

int on_acl_check(int /*event*/, void* event_data, void* user_data) {
  auto* self = static_cast<plugin*>(user_data);
  auto* event = static_cast<mosquitto_evt_acl_check*>(event_data);
  access kind = access::read;
  switch (event->access) {
    case MOSQ_ACL_SUBSCRIBE: kind = access::subscribe; break;
    case MOSQ_ACL_WRITE: kind = access::write; break;
    case MOSQ_ACL_UNSUBSCRIBE: kind = access::unsubscribe; break;
    default: kind = access::read; break;
  }
  const char* user = mosquitto_client_username(event->client);
  if (self->decide->allows(user, event->topic == nullptr ? "" : event->topic, kind)) return MOSQ_ERR_SUCCESS;
  if (kind != access::read) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "%sdenied %s of %s to %s", log_prefix,
                         kind == access::write ? "publish" : "subscribe", shown(event->topic).c_str(),
                         shown(user).c_str());
  }
  return MOSQ_ERR_ACL_DENIED;
}

int on_tick(int /*event*/, void* /*event_data*/, void* user_data) {
  auto* self = static_cast<plugin*>(user_data);
  try {
    for (const auto& [client_id, reason] : self->decide->due_disconnections(admission::clock::now())) {
      mosquitto_log_printf(MOSQ_LOG_NOTICE, "%sdisconnecting %s: %s", log_prefix, shown(client_id.c_str()).c_str(),
                           reason.c_str());
      mosquitto_kick_client_by_clientid(client_id.c_str(), false);
    }
  } catch (const std::exception& broken) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "%sre-check failed: %s", log_prefix, broken.what());
  }
  return MOSQ_ERR_SUCCESS;
}

int on_disconnect(int /*event*/, void* event_data, void* user_data) {
  auto* self = static_cast<plugin*>(user_data);
  self->decide->disconnected(static_cast<mosquitto_evt_disconnect*>(event_data)->client);
  return MOSQ_ERR_SUCCESS;
}

/// Refuses to start when a listener would take tokens in clear.
result<void> check_listeners(const plugin_settings& settings) {
  if (settings.allow_plaintext) return ok();
  const auto file = broker_config_file();
  if (!file) return ok();
  std::ifstream in(*file);
  if (!in) return ok();
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  const auto plaintext = plaintext_listeners(text);
  if (plaintext.empty()) return ok();
  return fail(std::make_error_code(std::errc::invalid_argument),
              plaintext.front() +
                  " has no TLS: tokens would cross the network in clear (use TLS listeners, or set "
                  "plugin_opt_allow_plaintext true for loopback tests)");
}

constexpr MOSQ_FUNC_generic_callback as_callback(int (*callback)(int, void*, void*)) {
  return callback;
}

}  // namespace
}  // namespace danemq::mosquitto_auth

extern "C" {

mosq_plugin_EXPORT int mosquitto_plugin_version(int supported_version_count, const int* supported_versions) {
  for (int i = 0; i < supported_version_count; ++i) {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-pointer-arithmetic): the broker's C array
    if (supported_versions[i] == 5) return 5;
  }
  return -1;
}

mosq_plugin_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void** userdata,
                                             struct mosquitto_opt* options, int option_count) {
  using namespace danemq::mosquitto_auth;
  try {
    std::vector<std::pair<std::string, std::string>> given;
    for (int i = 0; i < option_count; ++i) {
      // NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-pointer-arithmetic): the broker's C array
      const auto& option = options[i];
      given.emplace_back(option.key == nullptr ? "" : option.key, option.value == nullptr ? "" : option.value);
    }
    auto settings = parse_plugin_settings(given);
    if (!settings) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "%s%s", log_prefix, settings.error().detail.c_str());
      return MOSQ_ERR_INVAL;
    }
    if (auto listeners = check_listeners(*settings); !listeners) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "%s%s", log_prefix, listeners.error().detail.c_str());
      return MOSQ_ERR_INVAL;
    }
    auto source = danemq::dane::discovery::create(settings->dane);
    if (!source) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "%sDNS: %s", log_prefix, source.error().message().c_str());
      return MOSQ_ERR_INVAL;
    }
    auto self = std::make_unique<plugin>();
    self->id = identifier;
    self->decide = std::make_unique<admission>(std::move(settings).value(), std::move(source).value());
    int rc =
        mosquitto_callback_register(identifier, MOSQ_EVT_BASIC_AUTH, as_callback(on_basic_auth), nullptr, self.get());
    if (rc == MOSQ_ERR_SUCCESS) {
      rc = mosquitto_callback_register(identifier, MOSQ_EVT_ACL_CHECK, as_callback(on_acl_check), nullptr, self.get());
    }
    if (rc == MOSQ_ERR_SUCCESS) {
      rc = mosquitto_callback_register(identifier, MOSQ_EVT_TICK, as_callback(on_tick), nullptr, self.get());
    }
    if (rc == MOSQ_ERR_SUCCESS) {
      rc =
          mosquitto_callback_register(identifier, MOSQ_EVT_DISCONNECT, as_callback(on_disconnect), nullptr, self.get());
    }
    if (rc != MOSQ_ERR_SUCCESS) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "%scannot register its callbacks (%d)", log_prefix, rc);
      return rc;
    }
    mosquitto_log_printf(MOSQ_LOG_INFO, "%sadmitting devices by DANE for audience %s", log_prefix,
                         self->decide->settings().audience.c_str());
    *userdata = self.release();
    return MOSQ_ERR_SUCCESS;
  } catch (const std::exception& broken) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "%scannot start: %s", log_prefix, broken.what());
    return MOSQ_ERR_UNKNOWN;
  }
}

mosq_plugin_EXPORT int mosquitto_plugin_cleanup(void* userdata, struct mosquitto_opt* /*options*/,
                                                int /*option_count*/) {
  using namespace danemq::mosquitto_auth;
  std::unique_ptr<plugin> self(static_cast<plugin*>(userdata));
  if (!self) return MOSQ_ERR_SUCCESS;
  (void)mosquitto_callback_unregister(self->id, MOSQ_EVT_BASIC_AUTH, as_callback(on_basic_auth), nullptr);
  (void)mosquitto_callback_unregister(self->id, MOSQ_EVT_ACL_CHECK, as_callback(on_acl_check), nullptr);
  (void)mosquitto_callback_unregister(self->id, MOSQ_EVT_TICK, as_callback(on_tick), nullptr);
  (void)mosquitto_callback_unregister(self->id, MOSQ_EVT_DISCONNECT, as_callback(on_disconnect), nullptr);
  return MOSQ_ERR_SUCCESS;
}

}  // extern "C"
