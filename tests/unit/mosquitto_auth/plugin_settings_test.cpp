#include "plugin_settings.hpp"

#include <gtest/gtest.h>

namespace danemq::mosquitto_auth {
namespace {

using namespace std::chrono_literals;
using options = std::vector<std::pair<std::string, std::string>>;

TEST(PluginSettings, ReadsEveryOptionAndKeepsTheDefaultsOfTheOthers) {
  auto defaults = parse_plugin_settings({{"audience", "broker.example.net"}});
  ASSERT_TRUE(defaults) << defaults.error().message();
  EXPECT_EQ(defaults->max_token_age, 60s);
  EXPECT_EQ(defaults->lookup_wait, 200ms);
  EXPECT_FALSE(defaults->allow_plaintext);
  EXPECT_TRUE(defaults->allowed_names.allows_anyone());

  auto given = parse_plugin_settings({{"audience", "broker.example.net"},
                                      {"dns_resolver", "127.0.0.1:5353"},
                                      {"dnssec_validation", "resolver"},
                                      {"topic_prefix", "danemq/"},
                                      {"max_token_age", "30s"},
                                      {"cache_max_ttl", "5m"},
                                      {"allowed_names", "*.example.net"},
                                      {"allow_plaintext", "true"},
                                      {"lookup_wait", "50ms"}});
  ASSERT_TRUE(given) << given.error().message();
  EXPECT_EQ(given->dane.resolver, "127.0.0.1:5353");
  EXPECT_EQ(given->dane.dnssec, dane::dnssec_mode::resolver);
  EXPECT_EQ(given->topic_prefix, "danemq/");
  EXPECT_EQ(given->max_token_age, 30s);
  EXPECT_EQ(given->dane.cache.max_ttl, 300s);
  EXPECT_TRUE(given->allowed_names.allows("alice.example.net"));
  EXPECT_FALSE(given->allowed_names.allows("alice.example.org"));
  EXPECT_TRUE(given->allow_plaintext);
  EXPECT_EQ(given->lookup_wait, 50ms);
}

TEST(PluginSettings, ABadValueIsOneLineNamingTheOption) {
  const std::vector<std::pair<options, std::string>> cases = {
      {{}, "plugin_opt_audience: is required"},
      {{{"audience", "b"}, {"max_token_age", "40x"}}, "plugin_opt_max_token_age: '40x' is not a duration"},
      {{{"audience", "b"}, {"max_token_age", "0"}}, "plugin_opt_max_token_age: '0' is out of range"},
      {{{"audience", "b"}, {"cache_max_ttl", "1500ms"}}, "plugin_opt_cache_max_ttl: '1500ms' is out of range"},
      {{{"audience", "b"}, {"dns_resolver", "resolver.example"}}, "plugin_opt_dns_resolver: "},
      {{{"audience", "b"}, {"dnssec_validation", "maybe"}}, "plugin_opt_dnssec_validation: "},
      {{{"audience", "b"}, {"dnssec_trust_anchor", "/nonexistent/root.key"}}, "plugin_opt_dnssec_trust_anchor: "},
      {{{"audience", "b"}, {"allowed_names", "*bad*"}}, "plugin_opt_allowed_names: "},
      {{{"audience", "b"}, {"allow_plaintext", "perhaps"}}, "plugin_opt_allow_plaintext: 'perhaps' is not true"},
      {{{"audience", "b"}, {"lookup_wait", "10s"}}, "plugin_opt_lookup_wait: '10s' is over 5s"},
      {{{"audience", "b"}, {"topic_prefix", "a/#"}}, "plugin_opt_topic_prefix: must not contain"},
      {{{"audience", "b"}, {"max_tokn_age", "10"}}, "plugin_opt_max_tokn_age: unknown option"},
  };
  for (const auto& [given, expected] : cases) {
    auto parsed = parse_plugin_settings(given);
    ASSERT_FALSE(parsed) << expected;
    EXPECT_EQ(parsed.error().detail.rfind(expected, 0), 0U) << parsed.error().detail;
    EXPECT_EQ(parsed.error().detail.find('\n'), std::string::npos);
  }
}

TEST(PluginSettings, ReadsDurationsInTheirUnits) {
  EXPECT_EQ(parse_plugin_duration("200ms").value(), 200ms);
  EXPECT_EQ(parse_plugin_duration("60").value(), 60s);
  EXPECT_EQ(parse_plugin_duration("5m").value(), 5min);
  EXPECT_EQ(parse_plugin_duration("1h").value(), 1h);
  EXPECT_FALSE(parse_plugin_duration(""));
  EXPECT_FALSE(parse_plugin_duration("-1s"));
  EXPECT_FALSE(parse_plugin_duration("99999999999999999999s"));
}

}  // namespace
}  // namespace danemq::mosquitto_auth
