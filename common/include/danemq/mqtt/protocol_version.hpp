#pragma once
// The MQTT protocol version spoken to the broker: the one enum shared by the
// client's options and the services' settings (MQTT_PROTOCOL).

namespace danemq::mqtt {

enum class protocol_version { v311, v5 };

}  // namespace danemq::mqtt
