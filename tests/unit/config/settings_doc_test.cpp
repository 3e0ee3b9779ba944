#include "danemq/config/settings_doc.hpp"

#include <gtest/gtest.h>

namespace danemq::config {
namespace {

struct sample {
  unsigned count{3};
  std::string token;
  std::string name;
};

option_table<sample> sample_table(std::string count_help) {
  return {
      {.env = "SAMPLE_COUNT", .flag = "--count", .value = count_in<sample>(&sample::count, 1, 10), .help = count_help},
      {.env = "SAMPLE_TOKEN",
       .flag = "--token",
       .value = any_text<sample>(&sample::token),
       .help = "a `secret`",
       .secret = true},
      {.env = "SAMPLE_NAME",
       .flag = "--name",
       .command = "run",
       .value = any_text<sample>(&sample::name),
       .help = "a name",
       .required = true,
       .original = true},
  };
}

TEST(SettingsDoc, WritesAManPageAndABashCompletionFromTheTables) {
  const documented_program program{.name = "danemq-sample",
                                   .summary = "a sample",
                                   .commands = {"run", "run again"},
                                   .tables = {document('r', sample_table("how many"))}};
  const auto page = man_page(program);
  EXPECT_EQ(page.rfind(".TH danemq-sample 1 ", 0), 0u) << page;
  EXPECT_NE(page.find(".BR \\-\\-count \", \" SAMPLE_COUNT\nhow many (1..10) Default: 3."), std::string::npos) << page;
  EXPECT_NE(page.find(".BR run \\-\\-name"), std::string::npos) << page;
  EXPECT_NE(page.find(".B run again"), std::string::npos) << page;
  const auto completion = bash_completion(program);
  EXPECT_NE(completion.find("compgen -W '--help --version --count --token --name'"), std::string::npos) << completion;
  EXPECT_NE(completion.find("compgen -W 'run'"), std::string::npos) << completion;
  EXPECT_NE(completion.find("complete -F _danemq_sample danemq-sample"), std::string::npos) << completion;
}

TEST(SettingsDoc, WritesOneRowPerVariableWithTheStructDefault) {
  const auto table = markdown_table({document('r', sample_table("how many"))});
  EXPECT_EQ(table,
            "| variable | flag | default | services | meaning |\n"
            "|---|---|---|---|---|\n"
            "| `SAMPLE_COUNT` | `--count` | `3` | r | how many (1..10) |\n"
            "| `SAMPLE_TOKEN` | `--token` | — | r | a `secret` |\n"
            "| `SAMPLE_NAME` | `run --name` | — (required) | r | *Original.* a name |\n");
}

TEST(SettingsDoc, MergesAVariableThatSeveralServicesRead) {
  const auto table = markdown_table({document('s', sample_table("how many")), document('r', sample_table("how many")),
                                     document('m', sample_table("how much"))});
  EXPECT_NE(table.find("| `SAMPLE_COUNT` | `--count` | `3` | m r s | r, s: how many (1..10); m: how much (1..10) |"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("| `SAMPLE_TOKEN` | `--token` | — | m r s | a `secret` |"), std::string::npos) << table;
}

TEST(SettingsDoc, ReplacesOnlyThePartBetweenTheMarkers) {
  const std::string readme = "intro\n<!-- settings:begin -->\nold\n<!-- settings:end -->\nrest\n";
  auto replaced = replace_table(readme, "new\n");
  ASSERT_TRUE(replaced);
  EXPECT_EQ(*replaced, "intro\n<!-- settings:begin -->\nnew\n<!-- settings:end -->\nrest\n");
  EXPECT_FALSE(replace_table("no markers\n", "new\n"));
}

}  // namespace
}  // namespace danemq::config
