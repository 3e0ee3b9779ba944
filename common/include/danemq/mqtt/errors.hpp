#pragma once
// Errors of the MQTT edge (libmosquitto).

#include <system_error>

namespace danemq::mqtt {

enum class errc {
  ok = 0,
  bad_options,           ///< client options unusable (empty client id, unreadable TLS file, QoS out of range)
  library_failure,       ///< libmosquitto refused a call it should accept (out of memory, ...)
  not_connected,         ///< no connection to the broker within the time allowed
  connection_refused,    ///< the broker refused the connection (CONNACK code: credentials, client id, ...)
  tls_failed,            ///< the TLS handshake failed (certificate not trusted, wrong name, no client certificate)
  subscription_refused,  ///< the broker refused a subscription (SUBACK failure)
  publish_refused,       ///< the broker answered a publish with an error reason (MQTT 5 PUBACK >= 0x80)
  timeout,               ///< no acknowledgement within the time allowed
  stopped,               ///< the client stopped before the operation completed
  too_large,             ///< a payload over the MQTT limit
};

const std::error_category& mqtt_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), mqtt_category()};
}

}  // namespace danemq::mqtt

template <>
struct std::is_error_code_enum<danemq::mqtt::errc> : std::true_type {};
