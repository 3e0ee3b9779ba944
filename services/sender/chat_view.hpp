#pragma once
// What `danemq-sender chat` prints: one line per message, the peer's from the
// receiver's inbox and ours from the sent log with its delivery state, every
// text from the network escaped (core::escape_for_display). Pure: values in,
// text out.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/store/outbox.hpp"
#include "danemq/store/outcome_tables.hpp"

namespace danemq::sender {

/// How many messages `chat` shows of the conversation before it.
inline constexpr std::size_t chat_history_size = 20;

/// "<received_at> <sender>: <message>".
[[nodiscard]] std::string incoming_chat_line(const store::inbox_entry& entry);
/// "<queued_at> me #<id>: <text> [<state>]".
[[nodiscard]] std::string outgoing_chat_line(const store::sent_entry& entry);
/// "<delivered_at> me #<id>: delivered" — the mark printed when the receipt comes.
[[nodiscard]] std::string delivered_chat_line(const store::sent_entry& entry);
/// The last `count` of both, merged in time order (received_at, queued_at), as lines.
[[nodiscard]] std::vector<std::string> chat_history(const std::vector<store::inbox_entry>& received,
                                                    const std::vector<store::sent_entry>& sent, std::size_t count);
/// Characters (Unicode code points) in UTF-8 `text`.
[[nodiscard]] std::size_t character_count(std::string_view text);

}  // namespace danemq::sender
