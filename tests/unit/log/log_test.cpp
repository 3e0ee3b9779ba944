#include "danemq/log/log.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

namespace danemq::log {
namespace {

TEST(LogSettings, FormatsAndLevelsParseAndBadOnesAreNamed) {
  EXPECT_EQ(*parse_format("text"), format::text);
  EXPECT_EQ(*parse_format("json"), format::json);
  auto bad = parse_format("xml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::bad_format);
  EXPECT_NE(bad.error().detail.find("xml"), std::string::npos);

  EXPECT_EQ(*parse_level("debug"), spdlog::level::debug);
  EXPECT_EQ(*parse_level("warn"), spdlog::level::warn);
  EXPECT_EQ(*parse_level("warning"), spdlog::level::warn);
  EXPECT_EQ(*parse_level("off"), spdlog::level::off);
  EXPECT_FALSE(parse_level("loud"));
}

TEST(LogOutput, JsonIsOneObjectPerLineWithTheMessageEscaped) {
  init("svc-json", format::json, spdlog::level::info);
  testing::internal::CaptureStderr();
  spdlog::info("said \"hi\"\nand left");
  spdlog::debug("below the level");
  const auto text = testing::internal::GetCapturedStderr();
  std::istringstream lines(text);
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  const auto parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed.at("service"), "svc-json");
  EXPECT_EQ(parsed.at("level"), "info");
  EXPECT_EQ(parsed.at("message"), "said \"hi\"\nand left");
  EXPECT_TRUE(parsed.at("time").get<std::string>().ends_with("Z"));
  EXPECT_FALSE(std::getline(lines, line)) << "the debug line was written: " << line;
}

TEST(LogOutput, TextNamesTheServiceAndTheLevel) {
  init("svc-text", format::text, spdlog::level::warn);
  testing::internal::CaptureStderr();
  spdlog::info("hidden");
  spdlog::warn("shown");
  const auto text = testing::internal::GetCapturedStderr();
  EXPECT_EQ(text.find("hidden"), std::string::npos);
  EXPECT_NE(text.find("[svc-text] shown"), std::string::npos) << text;
  EXPECT_NE(text.find("warning"), std::string::npos) << text;
}

TEST(LogOutput, TextKeepsEachRecordOnOneLineWhateverTheMessageHolds) {
  init("svc-text", format::text, spdlog::level::info);
  testing::internal::CaptureStderr();
  spdlog::info("topic {}", "bob.example\n2024-05-01T12:00:00.000Z error [danemq-receiver] forged\x1b[31m");
  const auto text = testing::internal::GetCapturedStderr();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.find('\n'), text.size() - 1) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_NE(text.find("[svc-text] topic bob.example\\n2024-05-01T12:00:00.000Z error"), std::string::npos) << text;
  EXPECT_NE(text.find("forged\\x1b[31m"), std::string::npos) << text;
}

// The services configure logging after other threads may have started
// logging; under the sanitizers a logger freed under a writer is reported.
TEST(LogOutput, InitWhileAnotherThreadLogsIsSafe) {
  init("svc-race", format::text, spdlog::level::info);
  testing::internal::CaptureStderr();
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int line = 0; line < 100000 && !stop.load(); ++line) spdlog::info("from the writer");
  });
  for (int round = 0; round < 200; ++round) {
    init("svc-race", round % 2 == 0 ? format::json : format::text, spdlog::level::info);
  }
  stop = true;
  writer.join();
  (void)testing::internal::GetCapturedStderr();
  testing::internal::CaptureStderr();
  init("svc-after", format::text, spdlog::level::info);
  spdlog::info("still logging");
  EXPECT_NE(testing::internal::GetCapturedStderr().find("[svc-after] still logging"), std::string::npos);
}

}  // namespace
}  // namespace danemq::log
