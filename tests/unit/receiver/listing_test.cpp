#include "listing.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace danemq::receiver {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::system_clock;

store::inbox_entry sample() {
  store::inbox_entry entry;
  entry.id = 7;
  entry.raw_id = 9;
  entry.sender = "alice.example";
  entry.recipient = "bob.example";
  entry.received_at = clock::time_point(std::chrono::milliseconds(1'714'564'800'123));
  entry.issued_at = 1'714'564'799;
  entry.jti = "abc";
  entry.message = "hello \"bob\"\nbye";
  entry.dnssec_secure = true;
  return entry;
}

TEST(Listing, PrintsTheOriginalsLineWithOneMessageOnOneLine) {
  EXPECT_EQ(says_line(sample()), "alice.example says: hello \"bob\"\\nbye");
}

TEST(Listing, AForgedSecondLineAndTerminalControlsStayVisibleText) {
  auto entry = sample();
  entry.message = "hi\nbank._device.example.net says: pay\x1b[2J\xe2\x80\xaetxt.exe";
  EXPECT_EQ(says_line(entry), "alice.example says: hi\\nbank._device.example.net says: pay\\x1b[2J\\u{202e}txt.exe");
  EXPECT_EQ(inbox_line(entry).find('\n'), std::string::npos);
  // JSON stays exact: its own escaping keeps it on one line.
  EXPECT_EQ(nlohmann::json::parse(inbox_json(entry))["message"], entry.message);
}

TEST(Listing, PrintsOneJsonObjectPerMessage) {
  const auto line = inbox_json(sample());
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["sender"], "alice.example");
  EXPECT_EQ(parsed["message"], "hello \"bob\"\nbye");
  EXPECT_EQ(parsed["received_at"], "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(parsed["iat"], 1'714'564'799);
  EXPECT_EQ(parsed["legacy"], false);
  auto legacy = sample();
  legacy.jti.reset();
  legacy.issued_at.reset();
  EXPECT_TRUE(nlohmann::json::parse(inbox_json(legacy))["jti"].is_null());
}

TEST(Listing, ReplacesInvalidUtf8RatherThanFail) {
  auto entry = sample();
  entry.message = "bad \xff byte";
  EXPECT_TRUE(nlohmann::json::accept(inbox_json(entry)));
}

TEST(Listing, ShowsTheQuarantineReasonAndTheRawBytes) {
  store::quarantine_entry entry;
  entry.id = 7;
  entry.raw_id = 3;
  entry.topic = "bob.example";
  entry.payload = {'x', 'y', 'z'};
  entry.received_at = clock::time_point(std::chrono::seconds(1'714'564'800));
  entry.reason = store::refusal{"jose", 10, "replay: jti j of alice.example was seen before"};
  EXPECT_EQ(quarantine_line(entry),
            "2024-05-01T12:00:00.000Z #7 bob.example jose:10 replay: jti j of alice.example was seen before (3 bytes)");
  entry.topic = "bob.example\n2024-05-01T12:00:00.000Z #4";
  entry.reason.text = "bad\rtext";
  EXPECT_EQ(quarantine_line(entry),
            "2024-05-01T12:00:00.000Z #7 bob.example\\n2024-05-01T12:00:00.000Z #4 jose:10 bad\\rtext (3 bytes)");
  const auto parsed = nlohmann::json::parse(quarantine_json(entry));
  EXPECT_EQ(parsed["id"], 7) << "the number the text shows after #";
  const auto details = quarantine_details(entry, true);
  EXPECT_EQ(details.rfind("#7 (raw message 3)\n", 0), 0u) << details;
  EXPECT_NE(details.find("payload (base64): eHl6\n"), std::string::npos) << details;
  EXPECT_EQ(quarantine_details(entry, false).find("eHl6"), std::string::npos);
  EXPECT_EQ(parsed["payload_base64"], "eHl6");
  EXPECT_EQ(parsed["reason"]["code"], 10);
}

TEST(ParseSince, ReadsDurationsBackFromNow) {
  const auto now = clock::now();
  EXPECT_EQ(*parse_since("15m", now), now - 15min);
  EXPECT_EQ(*parse_since("2h", now), now - 2h);
  EXPECT_EQ(*parse_since("3d", now), now - 72h);
}

TEST(ParseSince, ReadsUtcDatesAndTimes) {
  const auto now = clock::now();
  EXPECT_EQ(*parse_since("2024-05-01", now), clock::time_point(std::chrono::seconds(1'714'521'600)));
  EXPECT_EQ(*parse_since("2024-05-01T12:00:00Z", now), clock::time_point(std::chrono::seconds(1'714'564'800)));
  EXPECT_EQ(*parse_since("2024-05-01T12:00:00", now), clock::time_point(std::chrono::seconds(1'714'564'800)));
}

// Not through timegm: 32-bit ARM's time_t ends in January 2038.
TEST(ParseSince, ReadsDatesPastTheEndOf32BitTimeT) {
  const auto now = clock::now();
  EXPECT_EQ(*parse_since("2050-01-01", now), clock::time_point(std::chrono::seconds(2'524'608'000)));
  EXPECT_EQ(iso_time(clock::time_point(std::chrono::seconds(2'524'608'000))), "2050-01-01T00:00:00.000Z");
}

TEST(ParseSince, RefusesWhatItCannotRead) {
  const auto now = clock::now();
  EXPECT_FALSE(parse_since("yesterday", now));
  EXPECT_FALSE(parse_since("2024-13-01", now));
  EXPECT_FALSE(parse_since("2024-05-01T12:00:00+02:00", now));
  EXPECT_FALSE(parse_since("", now));
}

// Found by tests/fuzz/config_env_fuzz (UBSan: signed overflow in
// system_clock::from_time_t): a date beyond what the clock can hold
// (years 1678..2262 in nanoseconds) overflowed instead of being refused.
TEST(ParseSince, RefusesADateTheClockCannotHold) {
  const auto now = clock::now();
  for (const char* date : {"2300-01-01T00:00:00Z", "2263-01-01", "1000-01-01", "9999-12-31T23:59:59Z"}) {
    EXPECT_FALSE(parse_since(date, now)) << date;
  }
  EXPECT_TRUE(parse_since("2262-01-01", now));
  EXPECT_TRUE(parse_since("1970-01-01", now));
}

TEST(ParseSince, RefusesNegativeTimeFields) {
  const auto now = clock::now();
  EXPECT_FALSE(parse_since("2024-05-01T-1:00:00Z", now));
  EXPECT_FALSE(parse_since("2024-05-01T12:-5:00Z", now));
  EXPECT_FALSE(parse_since("2024-05-01T12:00:-9Z", now));
}

}  // namespace
}  // namespace danemq::receiver
