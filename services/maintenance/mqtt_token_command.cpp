#include "mqtt_token_command.hpp"

#include <memory>
#include <ostream>
#include <string>

#include "danemq/identity/identity_files.hpp"
#include "danemq/jose/mqtt_token.hpp"

namespace danemq::maintenance {

void register_mqtt_token_command(maintenance_app& app) {
  // The option's value lives as long as the CLI: the command's action owns it.
  auto audience = std::make_shared<std::string>();
  auto* command = app.add_command(
      "mqtt-token", "Print a fresh broker admission token (the MQTT password of user IDENTITY_NAME)", [&app, audience] {
        if (audience->empty()) {
          return app.error(exit_usage, "mqtt-token needs --audience (or MQTT_AUTH_AUDIENCE): the broker's name");
        }
        const auto& settings = app.config();
        const auto paths = identity::identity_paths::of(settings.crypto_path, settings.identity_name);
        auto key = identity::load_identity_key(paths.key, settings.identity_key);
        if (!key) return app.error(exit_identity_files, key.error().message());
        const crypto::private_key signer =
            key->outside ? crypto::private_key(*key->key, *key->outside) : crypto::private_key(*key->key);
        auto token = jose::make_mqtt_token(settings.identity_name, *audience, signer, std::chrono::system_clock::now());
        if (!token) return app.error(exit_identity_files, token.error().message());
        app.out() << *token << '\n';
        return static_cast<int>(exit_success);
      });
  command->add_option("--audience", *audience, "the broker's name, as its plugin_opt_audience says")
      ->envname("MQTT_AUTH_AUDIENCE");
}

}  // namespace danemq::maintenance
