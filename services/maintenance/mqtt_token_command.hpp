#pragma once
// danemq-maintenance mqtt-token: prints a fresh broker admission token
// (jose/mqtt_token.hpp) signed by the identity key, in a file or in a PKCS#11
// token, so that an operator can connect with mosquitto_sub or mosquitto_pub
// as the device (-u <IDENTITY_NAME> -P <token>) to debug a broker that admits
// devices by DANE.

#include "maintenance_app.hpp"

namespace danemq::maintenance {

/// Adds `mqtt-token [--audience NAME]` (MQTT_AUTH_AUDIENCE) to the app's CLI.
void register_mqtt_token_command(maintenance_app& app);

}  // namespace danemq::maintenance
