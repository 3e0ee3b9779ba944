#include "listener_check.hpp"

#include <fstream>
#include <iterator>
#include <sstream>

namespace danemq::mosquitto_auth {

std::vector<std::string> plaintext_listeners(std::string_view config_text) {
  struct listener {
    std::string name;
    bool tls{false};
  };
  std::vector<listener> listeners;
  std::istringstream lines{std::string(config_text)};
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string directive;
    if (!(words >> directive) || directive.starts_with('#')) continue;
    if (directive == "listener") {
      std::string port;
      std::string address;
      words >> port >> address;
      listeners.push_back({"listener " + port + (address.empty() ? "" : " " + address)});
    } else if ((directive == "certfile" || directive == "psk_hint") && !listeners.empty()) {
      listeners.back().tls = true;
    }
  }
  if (listeners.empty()) return {"the default listener"};
  std::vector<std::string> plaintext;
  for (const auto& each : listeners) {
    if (!each.tls) plaintext.push_back(each.name);
  }
  return plaintext;
}

std::optional<std::filesystem::path> broker_config_file() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  std::vector<std::string> arguments;
  std::istringstream parts(text);
  for (std::string argument; std::getline(parts, argument, '\0');) arguments.push_back(argument);
  for (std::size_t i = 0; i + 1 < arguments.size(); ++i) {
    if (arguments[i] == "-c" || arguments[i] == "--config-file") return std::filesystem::path(arguments[i + 1]);
  }
  return std::nullopt;
}

}  // namespace danemq::mosquitto_auth
