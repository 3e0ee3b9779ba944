#include "danemq/config/options.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include "danemq/core/error_category.hpp"

namespace danemq::config {
namespace {

const char* describe(errc e) {
  switch (e) {
    case errc::ok: return "success";
    case errc::missing_setting: return "missing setting";
    case errc::invalid_setting: return "invalid setting";
  }
  return nullptr;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

result<std::uint64_t> parse_digits(std::string_view text) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error == std::errc::result_out_of_range)
    return fail(errc::invalid_setting, "is not a number in range");
  if (error != std::errc() || stop != end) return fail(errc::invalid_setting, "is not a whole number");
  return value;
}

}  // namespace

const std::error_category& config_category() noexcept {
  static const enum_error_category<errc> instance("config", describe);
  return instance;
}

result<std::uint64_t> parse_unsigned(std::string_view text, std::uint64_t min, std::uint64_t max) {
  auto value = parse_digits(text);
  if (!value) return value.error();
  if (*value < min || *value > max) {
    return fail(errc::invalid_setting, "is out of range (" + std::to_string(min) + ".." + std::to_string(max) + ")");
  }
  return value;
}

result<std::uint16_t> parse_port(std::string_view text) {
  auto value = parse_unsigned(text, 1, 65535);
  if (!value) return fail(errc::invalid_setting, "is not a port number (1..65535)");
  return static_cast<std::uint16_t>(*value);
}

result<bool> parse_bool(std::string_view text) {
  const auto word = lowercase(text);
  if (word == "1" || word == "true" || word == "yes" || word == "on") return true;
  if (word == "0" || word == "false" || word == "no" || word == "off") return false;
  return fail(errc::invalid_setting, "is not a boolean (1/0, true/false, yes/no, on/off)");
}

result<std::uint64_t> parse_size(std::string_view text, std::uint64_t min, std::uint64_t max) {
  std::uint64_t unit = 1;
  if (!text.empty()) {
    switch (std::toupper(static_cast<unsigned char>(text.back()))) {
      case 'K': unit = 1024; break;
      case 'M': unit = std::uint64_t{1024} * 1024; break;
      case 'G': unit = std::uint64_t{1024} * 1024 * 1024; break;
      default: break;
    }
    if (unit != 1) text.remove_suffix(1);
  }
  auto count = parse_digits(text);
  if (!count) return fail(errc::invalid_setting, "is not a size (bytes, or a number with K, M or G)");
  if (*count > std::numeric_limits<std::uint64_t>::max() / unit) return fail(errc::invalid_setting, "is too large");
  const auto bytes = *count * unit;
  if (bytes < min || bytes > max) {
    return fail(errc::invalid_setting,
                "is out of range (" + std::to_string(min) + ".." + std::to_string(max) + " bytes)");
  }
  return bytes;
}

result<std::chrono::milliseconds> parse_duration(std::string_view text, std::chrono::milliseconds min,
                                                 std::chrono::milliseconds max) {
  std::uint64_t scale = 1000;
  if (text.size() > 2 && text.substr(text.size() - 2) == "ms") {
    scale = 1;
    text.remove_suffix(2);
  } else if (!text.empty() && std::isalpha(static_cast<unsigned char>(text.back())) != 0) {
    switch (text.back()) {
      case 's': scale = 1000; break;
      case 'm': scale = 60'000; break;
      case 'h': scale = 3'600'000; break;
      case 'd': scale = 86'400'000; break;
      default: return fail(errc::invalid_setting, "has an unknown unit (use ms, s, m, h or d)");
    }
    text.remove_suffix(1);
  }
  auto count = parse_digits(text);
  if (!count) return fail(errc::invalid_setting, "is not a duration (a number with ms, s, m, h or d)");
  // The range in the units the table shows (10s..30d), whether the number
  // overflows or is merely beyond it.
  const auto out_of_range = [&] {
    return fail(errc::invalid_setting, "is out of range (" + format_duration(min) + ".." + format_duration(max) + ")");
  };
  if (*count > static_cast<std::uint64_t>(max.count()) / scale + 1) return out_of_range();
  const std::chrono::milliseconds value(static_cast<std::int64_t>(*count * scale));
  if (value < min || value > max) return out_of_range();
  return value;
}

result<std::filesystem::path> parse_readable_file(std::string_view text) {
  if (text.empty()) return fail(errc::invalid_setting, "is empty");
  const std::filesystem::path path(text);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return fail(errc::invalid_setting, "is not an existing file");
  if (::access(path.c_str(), R_OK) != 0) return fail(errc::invalid_setting, "is not readable");
  return path;
}

result<std::filesystem::path> parse_directory(std::string_view text) {
  if (text.empty()) return fail(errc::invalid_setting, "is empty");
  return std::filesystem::path(text);
}

result<std::string> parse_choice(std::string_view text, const std::vector<std::string>& choices) {
  for (const auto& choice : choices) {
    if (text == choice) return choice;
  }
  std::string list;
  for (const auto& choice : choices) list += (list.empty() ? "" : ", ") + choice;
  return fail(errc::invalid_setting, "is not one of: " + list);
}

std::string format_duration(std::chrono::milliseconds value) {
  const auto ms = value.count();
  if (ms == 0) return "0s";
  if (ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_size(std::uint64_t bytes) {
  constexpr std::uint64_t mib = std::uint64_t{1024} * 1024;
  if (bytes != 0 && bytes % (mib * 1024) == 0) return std::to_string(bytes / (mib * 1024)) + "G";
  if (bytes != 0 && bytes % mib == 0) return std::to_string(bytes / mib) + "M";
  return std::to_string(bytes);
}

}  // namespace danemq::config
