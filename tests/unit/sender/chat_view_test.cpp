#include "chat_view.hpp"

#include <gtest/gtest.h>

namespace danemq::sender {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::system_clock;

const clock::time_point noon = clock::time_point{} + 1'733'400'000s;  // 2024-12-05T12:00:00Z

store::inbox_entry received(std::string text, clock::time_point at) {
  store::inbox_entry entry;
  entry.sender = "bob.example";
  entry.message = std::move(text);
  entry.received_at = at;
  return entry;
}

store::sent_entry sent(std::int64_t id, std::string text, clock::time_point at, bool delivered) {
  store::sent_entry entry;
  entry.id = id;
  entry.recipient = "bob.example";
  entry.text = std::move(text);
  entry.receipt_requested = true;
  entry.queued_at = at;
  entry.published_at = at;
  if (delivered) entry.delivered_at = at + 1s;
  return entry;
}

TEST(ChatView, MergesBothSidesInTimeOrderWithTheirMarks) {
  const auto lines = chat_history({received("hi", noon + 1s), received("still there?", noon + 3s)},
                                  {sent(7, "hello", noon, true), sent(8, "yes", noon + 2s, false)}, 20);
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "2024-12-05T12:00:00.000Z me #7: hello [delivered]",
                       "2024-12-05T12:00:01.000Z bob.example: hi",
                       "2024-12-05T12:00:02.000Z me #8: yes [published]",
                       "2024-12-05T12:00:03.000Z bob.example: still there?",
                   }));
}

TEST(ChatView, KeepsTheNewestOnly) {
  const auto lines = chat_history({received("a", noon), received("b", noon + 2s)}, {sent(1, "c", noon + 1s, false)}, 2);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find(": c ["), std::string::npos);
  EXPECT_NE(lines[1].find(": b"), std::string::npos);
}

TEST(ChatView, EscapesWhatCameFromTheNetworkAndWhatWasTyped) {
  EXPECT_EQ(incoming_chat_line(received("two\nlines\x1b[2J", noon)),
            "2024-12-05T12:00:00.000Z bob.example: two\\nlines\\x1b[2J");
  EXPECT_EQ(outgoing_chat_line(sent(3, "tab\there", noon, false)),
            "2024-12-05T12:00:00.000Z me #3: tab\\there [published]");
  EXPECT_EQ(delivered_chat_line(sent(3, "x", noon, true)), "2024-12-05T12:00:01.000Z me #3: delivered");
}

TEST(ChatView, CountsCharactersNotBytes) {
  EXPECT_EQ(character_count("abc"), 3u);
  EXPECT_EQ(character_count("h\xc3\xa9llo \xe2\x82\xac"), 7u);  // héllo €
}

}  // namespace
}  // namespace danemq::sender
