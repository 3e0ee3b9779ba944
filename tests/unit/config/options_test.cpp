#include "danemq/config/options.hpp"
#include "danemq/config/cli_binding.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace danemq::config {
namespace {

using namespace std::chrono_literals;

struct sample {
  int count{3};
  bool verbose{false};
  std::string token;
};

option_table<sample> sample_table() {
  option_table<sample> table;
  table.push_back({"SAMPLE_COUNT", "count", "how many", "3", true, false, false,
                   [](sample& s, std::string_view text) -> result<void> {
                     auto n = parse_unsigned(text, 1, 10);
                     if (!n) return n.error();
                     s.count = static_cast<int>(*n);
                     return ok();
                   }});
  table.push_back({"SAMPLE_VERBOSE", "verbose", "talk more", "", false, false, true,
                   [](sample& s, std::string_view text) -> result<void> {
                     auto on = parse_bool(text);
                     if (!on) return on.error();
                     s.verbose = *on;
                     return ok();
                   }});
  table.push_back({"SAMPLE_TOKEN", "token", "a secret", "", false, true, false,
                   [](sample& s, std::string_view text) -> result<void> {
                     if (text.size() < 4) return fail(errc::invalid_setting, "is too short");
                     s.token = std::string(text);
                     return ok();
                   }});
  return table;
}

/// Parses argv with the table, the environment set as given for the call.
result<sample> parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  for (const auto* name : {"SAMPLE_COUNT", "SAMPLE_VERBOSE", "SAMPLE_TOKEN"}) ::unsetenv(name);
  for (const auto& [key, value] : env) ::setenv(key.c_str(), value.c_str(), 1);
  CLI::App app("sample");
  option_binding<sample> binding(app, sample_table());
  args.insert(args.begin(), "sample");
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
  sample s;
  auto applied = binding.apply(s);
  for (const auto& [key, value] : env) ::unsetenv(key.c_str());
  if (!applied) return applied.error();
  return s;
}

TEST(OptionBinding, ReadsTheEnvironment) {
  auto s = parse({}, {{"SAMPLE_COUNT", "7"}, {"SAMPLE_VERBOSE", "yes"}});
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->count, 7);
  EXPECT_TRUE(s->verbose);
}

TEST(OptionBinding, PrefersTheFlagOverTheEnvironment) {
  auto s = parse({"--count", "2", "--verbose"}, {{"SAMPLE_COUNT", "7"}});
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->count, 2);
  EXPECT_TRUE(s->verbose);
}

TEST(OptionBinding, ReadsASwitchTurnedOffInTheEnvironment) {
  auto s = parse({"--count", "2"}, {{"SAMPLE_VERBOSE", "0"}});
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_FALSE(s->verbose);
}

TEST(OptionBinding, NamesAMissingRequiredSetting) {
  auto s = parse({});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, make_error_code(errc::missing_setting));
  EXPECT_EQ(s.error().detail, "SAMPLE_COUNT (--count) is required");
}

TEST(OptionBinding, NamesAnInvalidSettingWithItsValueOnOneLine) {
  auto s = parse({"--count", "11"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, make_error_code(errc::invalid_setting));
  EXPECT_EQ(s.error().detail, "SAMPLE_COUNT (--count): '11' is out of range (1..10)");
  EXPECT_EQ(s.error().detail.find('\n'), std::string::npos);
}

TEST(OptionBinding, NeverRepeatsTheValueOfASecret) {
  auto s = parse({"--count", "1"}, {{"SAMPLE_TOKEN", "abc"}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().detail, "SAMPLE_TOKEN (--token): is too short");
  EXPECT_EQ(s.error().message().find("abc"), std::string::npos);
}

TEST(OptionBinding, ShowsDefaultsAndEnvironmentNamesInHelpButNoSecret) {
  CLI::App app("sample");
  option_binding<sample> binding(app, sample_table());
  const auto help = app.help();
  EXPECT_NE(help.find("--count"), std::string::npos);
  EXPECT_NE(help.find("SAMPLE_COUNT"), std::string::npos);
  EXPECT_NE(help.find("[default: 3]"), std::string::npos);
  EXPECT_NE(help.find("SECRET"), std::string::npos);
}

TEST(OptionLift, AppliesToTheSelectedMember) {
  struct whole {
    int other{0};
    sample part;
  };
  auto table = lift(sample_table(), &whole::part);
  whole w;
  ASSERT_TRUE(table[0].apply(w, "9"));
  EXPECT_EQ(w.part.count, 9);
}

TEST(ParsePort, AcceptsOnlyOneTo65535) {
  EXPECT_EQ(*parse_port("1883"), 1883);
  EXPECT_FALSE(parse_port("0"));
  EXPECT_FALSE(parse_port("65536"));
  EXPECT_FALSE(parse_port("18a3"));
  EXPECT_FALSE(parse_port(""));
  EXPECT_FALSE(parse_port("-1"));
}

TEST(ParseBool, AcceptsTheUsualWordsInAnyCase) {
  EXPECT_TRUE(*parse_bool("TRUE"));
  EXPECT_TRUE(*parse_bool("on"));
  EXPECT_FALSE(*parse_bool("0"));
  EXPECT_FALSE(*parse_bool("No"));
  EXPECT_FALSE(parse_bool("maybe"));
}

TEST(ParseSize, ReadsSuffixesAndChecksTheRange) {
  EXPECT_EQ(*parse_size("256K", 1, 1 << 30), 256u * 1024);
  EXPECT_EQ(*parse_size("1m", 1, 1 << 30), 1024u * 1024);
  EXPECT_EQ(*parse_size("4096", 1, 1 << 30), 4096u);
  EXPECT_FALSE(parse_size("2G", 1, 1 << 30));
  EXPECT_FALSE(parse_size("K", 1, 1 << 30));
  EXPECT_FALSE(parse_size("99999999999999999999G", 1, 1 << 30));
}

TEST(ParseDuration, ReadsUnitsAndChecksTheRange) {
  EXPECT_EQ(*parse_duration("30", 0ms, 1h), 30s);
  EXPECT_EQ(*parse_duration("250ms", 0ms, 1h), 250ms);
  EXPECT_EQ(*parse_duration("2m", 0ms, 1h), 120s);
  EXPECT_EQ(*parse_duration("1h", 0ms, 1h), 1h);
  EXPECT_FALSE(parse_duration("2h", 0ms, 1h));
  EXPECT_FALSE(parse_duration("5d", 0ms, 1000h));
  EXPECT_FALSE(parse_duration("s", 0ms, 1h));
}

TEST(ParseChoice, ListsTheChoicesWhenRefusing) {
  EXPECT_EQ(*parse_choice("v2", {"compat", "v2"}), "v2");
  auto refused = parse_choice("v3", {"compat", "v2"});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().detail, "is not one of: compat, v2");
}

TEST(ParseReadableFile, RefusesWhatIsMissingOrADirectory) {
  EXPECT_FALSE(parse_readable_file("/no/such/file"));
  EXPECT_FALSE(parse_readable_file("/"));
  EXPECT_TRUE(parse_readable_file("/etc/hostname") || parse_readable_file("/etc/passwd"));
}

}  // namespace
}  // namespace danemq::config
