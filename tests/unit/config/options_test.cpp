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
  return {
      {.env = "SAMPLE_COUNT",
       .flag = "--count",
       .value = count_in<sample>(&sample::count, 1, 10),
       .help = "how many",
       .required = true},
      {.env = "SAMPLE_VERBOSE", .flag = "--verbose", .value = switch_on<sample>(&sample::verbose), .help = "talk more"},
      {.env = "SAMPLE_TOKEN",
       .flag = "--token",
       .value = {.apply = [](sample& s, std::string_view text) -> result<void> {
                   if (text.size() < 4) return fail(errc::invalid_setting, "is too short");
                   s.token = std::string(text);
                   return ok();
                 },
                 .show = [](const sample& s) { return s.token; }},
       .help = "a secret",
       .secret = true},
  };
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
  EXPECT_NE(help.find("how many (1..10) [default: 3] (required)"), std::string::npos) << help;
  EXPECT_NE(help.find("SECRET"), std::string::npos);
}

TEST(OptionBinding, TakesTheDefaultInHelpFromTheDefaultConstructedStruct) {
  auto table = sample_table();
  table[0].value = count_in<sample>(
      [](auto& s) -> auto& { return s.count; }, 1, 10);
  EXPECT_EQ(default_of(table[0]), std::to_string(sample{}.count));
  EXPECT_EQ(help_line(table[1]), "talk more") << "a switch that is off shows no default";
}

TEST(OptionBinding, NeverShowsTheDefaultOfASecret) {
  auto table = sample_table();
  table[2].value.show = [](const sample&) { return std::string("hunter2"); };
  EXPECT_EQ(help_line(table[2]), "a secret");
}

TEST(OptionBinding, DropsTheReadmeCodeMarksFromHelp) {
  option<sample> row{.env = "X", .flag = "--x", .value = {}, .help = "`a` or `b`", .unset = "the system's"};
  EXPECT_EQ(help_line(row), "a or b [default: the system's]");
}

TEST(OptionBinding, NamesOnlyTheVariableInTheMaintenanceStyle) {
  ::unsetenv("SAMPLE_COUNT");
  CLI::App app("sample");
  option_binding<sample> binding(app, sample_table(), naming::variable);
  const char* argv[] = {"sample"};
  app.parse(1, argv);
  sample s;
  auto applied = binding.apply(s);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().detail, "SAMPLE_COUNT is not set (set the variable or pass --count)");
}

TEST(OptionLift, AppliesToTheSelectedMember) {
  struct whole {
    int other{0};
    sample part;
  };
  auto table = lift(sample_table(), &whole::part);
  whole w;
  ASSERT_TRUE(table[0].value.apply(w, "9"));
  EXPECT_EQ(w.part.count, 9);
  EXPECT_EQ(table[0].value.show(w), "9");
  EXPECT_EQ(table[0].value.range, "1..10");
}

TEST(FormatDuration, WritesTheLargestExactUnitAndParsesBack) {
  EXPECT_EQ(format_duration(500ms), "500ms");
  EXPECT_EQ(format_duration(30s), "30s");
  EXPECT_EQ(format_duration(5min), "5m");
  EXPECT_EQ(format_duration(1h), "1h");
  EXPECT_EQ(format_duration(0ms), "0s");
  for (std::chrono::milliseconds value : {1ms, 1500ms, 90000ms, 7200000ms}) {
    EXPECT_EQ(*parse_duration(format_duration(value), 0ms, 24h), value);
  }
}

TEST(FormatSize, WritesSuffixesOnlyWhenExact) {
  EXPECT_EQ(format_size(4096), "4096");
  EXPECT_EQ(format_size(64ULL * 1024 * 1024), "64M");
  EXPECT_EQ(format_size(1ULL << 30), "1G");
  EXPECT_EQ(*parse_size(format_size(64ULL * 1024 * 1024), 1, 1ULL << 30), 64ULL * 1024 * 1024);
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

// A std::size_t member is 32 bits wide on 32-bit ARM (armhf): a value past
// it is refused, never cut to its low bits (8G would become 0).
TEST(OptionRules, RefuseWhatTheMemberCannotHold) {
  struct narrow {
    std::uint32_t count{0};
    std::uint32_t bytes{0};
  };
  narrow s;
  const auto count = count_in<narrow>(&narrow::count, 1, 1ULL << 40);
  EXPECT_FALSE(count.apply(s, "4294967296"));
  EXPECT_EQ(s.count, 0u);
  ASSERT_TRUE(count.apply(s, "4294967295"));
  EXPECT_EQ(s.count, 4'294'967'295u);
  EXPECT_EQ(count.range, "1..4294967295");

  const auto bytes = size_in<narrow>(&narrow::bytes, 1, 1ULL << 40);
  EXPECT_FALSE(bytes.apply(s, "8G"));
  EXPECT_EQ(s.bytes, 0u);
  ASSERT_TRUE(bytes.apply(s, "1G"));
  EXPECT_EQ(s.bytes, 1u << 30);
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
  EXPECT_EQ(*parse_duration("5d", 0ms, 1000h), 120h);
  EXPECT_FALSE(parse_duration("5d", 0ms, 100h));
  EXPECT_EQ(format_duration(168h), "7d");
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
