#include "chat_view.hpp"

#include <algorithm>
#include <chrono>

#include "danemq/config/time_text.hpp"
#include "danemq/core/display_text.hpp"

namespace danemq::sender {

std::string incoming_chat_line(const store::inbox_entry& entry) {
  return config::iso_time(entry.received_at) + " " + core::escape_for_display(entry.sender) + ": " +
         core::escape_for_display(entry.message) + (entry.legacy ? " [legacy]" : "");
}

std::string outgoing_chat_line(const store::sent_entry& entry) {
  return config::iso_time(entry.queued_at) + " me #" + std::to_string(entry.id) + ": " +
         core::escape_for_display(entry.text) + " [" + entry.state() + "]";
}

std::string delivered_chat_line(const store::sent_entry& entry) {
  return config::iso_time(entry.delivered_at.value_or(std::chrono::system_clock::now())) + " me #" +
         std::to_string(entry.id) + ": delivered";
}

std::vector<std::string> chat_history(const std::vector<store::inbox_entry>& received,
                                      const std::vector<store::sent_entry>& sent, std::size_t count) {
  struct item {
    std::chrono::system_clock::time_point at;
    std::string line;
  };
  std::vector<item> items;
  items.reserve(received.size() + sent.size());
  for (const auto& entry : received) items.push_back({entry.received_at, incoming_chat_line(entry)});
  for (const auto& entry : sent) items.push_back({entry.queued_at, outgoing_chat_line(entry)});
  // Stable: each source is in its own order already, which ties keep.
  std::stable_sort(items.begin(), items.end(), [](const item& a, const item& b) { return a.at < b.at; });
  const auto first = items.size() > count ? items.size() - count : 0;
  std::vector<std::string> lines;
  for (auto at = first; at < items.size(); ++at) lines.push_back(std::move(items[at].line));
  return lines;
}

std::size_t character_count(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace danemq::sender
