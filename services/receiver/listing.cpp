#include "listing.hpp"

#include "danemq/core/display_text.hpp"

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
  return iso_time(entry.received_at) + " #" + std::to_string(entry.id) + " " + core::escape_for_display(entry.topic) +
         " " + entry.reason.category + ":" + std::to_string(entry.reason.value) + " " +
         core::escape_for_display(entry.reason.text) + " (" + std::to_string(entry.payload.size()) + " bytes)";
}

std::string quarantine_details(const store::quarantine_entry& entry, bool with_payload) {
  std::string text = "#" + std::to_string(entry.id) + " (raw message " + std::to_string(entry.raw_id) + ")\n";
  text += "topic: " + core::escape_for_display(entry.topic) + "\n";
  text += "received: " + iso_time(entry.received_at) + "\n";
  text += "quarantined: " + iso_time(entry.quarantined_at) + "\n";
  text += "reason: " + entry.reason.category + ":" + std::to_string(entry.reason.value) + " " +
          core::escape_for_display(entry.reason.text) + "\n";
  text += "size: " + std::to_string(entry.payload.size()) + " bytes\n";
  if (with_payload) text += "payload (base64): " + base64(entry.payload) + "\n";
  return text;
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

}  // namespace danemq::receiver
