#pragma once
// Errors of the configuration module.

#include <system_error>

namespace danemq::config {

enum class errc {
  ok = 0,
  missing_setting,  ///< a required setting was given neither as flag nor as environment variable
  invalid_setting,  ///< a setting's value does not parse or is out of range
};
const std::error_category& config_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), config_category()};
}

}  // namespace danemq::config

template <>
struct std::is_error_code_enum<danemq::config::errc> : std::true_type {};
