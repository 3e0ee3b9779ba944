#include "listing.hpp"

#include "danemq/core/display_text.hpp"
#include "danemq/core/utc_time.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "danemq/config/options.hpp"

namespace danemq::receiver {
namespace {

using clock = std::chrono::system_clock;

std::string base64(const std::vector<std::uint8_t>& data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int length =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(), static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(std::max(length, 0)));
  return out;
}

std::string dump(const nlohmann::json& object) {
  // Message text comes from other people: invalid UTF-8 is replaced, never thrown on.
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string iso_time(clock::time_point time) {
  return core::iso_utc_millis(time);
}

std::string says_line(const store::inbox_entry& entry) {
  // One message, one line: a newline in the text must not print a second
  // line that seems to come from another sender, nor an escape sequence
  // rewrite the terminal.
  return core::escape_for_display(entry.sender) + " says: " + core::escape_for_display(entry.message);
}

std::string inbox_line(const store::inbox_entry& entry) {
  return iso_time(entry.received_at) + " " + says_line(entry) + (entry.legacy ? " [legacy]" : "");
}

std::string inbox_json(const store::inbox_entry& entry) {
  nlohmann::json object = {
      {"id", entry.id},
      {"sender", entry.sender},
      {"recipient", entry.recipient},
      {"received_at", iso_time(entry.received_at)},
      {"message", entry.message},
      {"dnssec_secure", entry.dnssec_secure},
      {"legacy", entry.legacy},
  };
  object["iat"] = entry.issued_at ? nlohmann::json(*entry.issued_at) : nlohmann::json(nullptr);
  object["jti"] = entry.jti ? nlohmann::json(*entry.jti) : nlohmann::json(nullptr);
  return dump(object);
}

std::string quarantine_line(const store::quarantine_entry& entry) {
  return iso_time(entry.received_at) + " #" + std::to_string(entry.raw_id) + " " +
         core::escape_for_display(entry.topic) + " " + entry.reason.category + ":" +
         std::to_string(entry.reason.value) + " " + core::escape_for_display(entry.reason.text) + " (" +
         std::to_string(entry.payload.size()) + " bytes)";
}

std::string quarantine_json(const store::quarantine_entry& entry) {
  const nlohmann::json object = {
      {"id", entry.id},
      {"raw_id", entry.raw_id},
      {"topic", entry.topic},
      {"received_at", iso_time(entry.received_at)},
      {"quarantined_at", iso_time(entry.quarantined_at)},
      {"reason", {{"category", entry.reason.category}, {"code", entry.reason.value}, {"text", entry.reason.text}}},
      {"size", entry.payload.size()},
      {"payload_base64", base64(entry.payload)},
  };
  return dump(object);
}

result<clock::time_point> parse_since(std::string_view text, clock::time_point now) {
  const auto invalid = [&] {
    return fail(config::errc::invalid_setting,
                "--since '" + std::string(text) + "' is neither a duration (15m, 2h, 3d) nor a UTC date/time");
  };
  if (!text.empty() && text.back() == 'd' && text.find('-') == std::string_view::npos) {
    auto days = config::parse_unsigned(text.substr(0, text.size() - 1), 0, 100'000);
    if (!days) return invalid();
    return now - std::chrono::hours(24 * static_cast<std::int64_t>(*days));
  }
  if (text.find('-') == std::string_view::npos) {
    auto back = config::parse_duration(text, std::chrono::milliseconds(0), std::chrono::hours(24 * 100'000));
    if (!back) return invalid();
    return now - *back;
  }
  std::tm utc{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  const std::string copy(text);
  char tail[8] = {};
  const int fields =
      std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%7s", &year, &month, &day, &hour, &minute, &second, tail);
  if (fields != 3 && fields != 6 && fields != 7) return invalid();
  if (fields == 3 && copy.size() != 10) return invalid();
  if (fields == 7 && std::string_view(tail) != "Z") return invalid();
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
      second < 0 || second > 60) {
    return invalid();
  }
  utc.tm_year = year - 1900;
  utc.tm_mon = month - 1;
  utc.tm_mday = day;
  utc.tm_hour = hour;
  utc.tm_min = minute;
  utc.tm_sec = second;
  // Not through timegm: time_t ends in 2038 on 32-bit ARM.
  const auto seconds = core::utc_seconds(utc);
  if (!seconds || !core::within_clock_range(*seconds)) return invalid();
  return core::saturating_time_point(*seconds);
}

}  // namespace danemq::receiver
