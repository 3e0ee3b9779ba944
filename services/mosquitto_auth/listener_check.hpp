#pragma once
// Which of the broker's listeners carry no TLS. The plugin API of Mosquitto
// 2.0 does not say whether a connection is encrypted, so the plugin reads
// the broker's configuration file (its -c argument) at start, and refuses to
// start when a listener would take tokens in clear unless allow_plaintext.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace danemq::mosquitto_auth {

/// The listeners of a mosquitto.conf text that have no `certfile` nor
/// `psk_hint`, as "listener <port> [<address>]" ("the default listener"
/// when the file declares none). `include_dir` files are not read.
[[nodiscard]] std::vector<std::string> plaintext_listeners(std::string_view config_text);

/// The configuration file the broker was started with (`-c FILE` in
/// /proc/self/cmdline), or nothing.
[[nodiscard]] std::optional<std::filesystem::path> broker_config_file();

}  // namespace danemq::mosquitto_auth
