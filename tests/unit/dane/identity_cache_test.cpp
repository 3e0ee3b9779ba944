#include "danemq/dane/identity_cache.hpp"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace danemq::dane {
namespace {

using namespace std::chrono_literals;
using clock = identity_cache::clock;

dane_identity_ptr identity_named(const std::string& name) {
  auto identity = std::make_shared<dane_identity>();
  identity->name = name;
  return identity;
}

std::string name_in(const std::optional<cached_outcome>& outcome) {
  if (!outcome) return "<none>";
  if (const auto* identity = std::get_if<dane_identity_ptr>(&*outcome)) return (*identity)->name;
  return "<failure>";
}

TEST(IdentityCache, HitsWithinTheTtlAndMissesAfter) {
  identity_cache cache;
  const auto t0 = clock::time_point{} + 1000s;
  EXPECT_FALSE(cache.find("a.example", t0));
  const auto expires = cache.store("a.example", identity_named("a.example"), 60s, t0);
  EXPECT_EQ(expires, t0 + 60s);
  EXPECT_EQ(name_in(cache.find("a.example", t0 + 59s)), "a.example");
  EXPECT_FALSE(cache.find("a.example", t0 + 60s));
  const auto stats = cache.statistics();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 2u);
  EXPECT_EQ(stats.expired, 1u);
  EXPECT_EQ(stats.entries, 0u);
}

TEST(IdentityCache, CapsTheTtl) {
  identity_cache cache({16, 300s, 10s});
  const auto t0 = clock::time_point{} + 1000s;
  EXPECT_EQ(cache.store("a.example", identity_named("a.example"), 86400s, t0), t0 + 300s);
  EXPECT_TRUE(cache.find("a.example", t0 + 299s));
  EXPECT_FALSE(cache.find("a.example", t0 + 301s));
}

TEST(IdentityCache, DoesNotStoreAZeroTtl) {
  identity_cache cache;
  const auto t0 = clock::time_point{} + 1000s;
  cache.store("a.example", identity_named("a.example"), 0s, t0);
  EXPECT_FALSE(cache.find("a.example", t0));
  EXPECT_EQ(cache.statistics().entries, 0u);
}

TEST(IdentityCache, KeepsNegativeAnswersBriefly) {
  identity_cache cache({16, 300s, 10s});
  const auto t0 = clock::time_point{} + 1000s;
  cache.store_failure("gone.example", fail(errc::nxdomain, "gone.example"), 3600s, t0);
  auto hit = cache.find("gone.example", t0 + 9s);
  ASSERT_TRUE(hit);
  ASSERT_TRUE(std::holds_alternative<failure>(*hit));
  EXPECT_EQ(std::get<failure>(*hit).code, make_error_code(errc::nxdomain));
  EXPECT_FALSE(cache.find("gone.example", t0 + 10s));
}

TEST(IdentityCache, EvictsTheLeastRecentlyUsed) {
  identity_cache cache({2, 300s, 10s});
  const auto t0 = clock::time_point{} + 1000s;
  cache.store("a", identity_named("a"), 60s, t0);
  cache.store("b", identity_named("b"), 60s, t0);
  EXPECT_TRUE(cache.find("a", t0));  // a is now more recent than b
  cache.store("c", identity_named("c"), 60s, t0);
  EXPECT_TRUE(cache.find("a", t0));
  EXPECT_FALSE(cache.find("b", t0));
  EXPECT_TRUE(cache.find("c", t0));
  EXPECT_EQ(cache.statistics().evicted, 1u);
  EXPECT_EQ(cache.statistics().entries, 2u);
}

TEST(IdentityCache, ReplacesAnEntryOfTheSameName) {
  identity_cache cache;
  const auto t0 = clock::time_point{} + 1000s;
  cache.store("a", identity_named("old"), 60s, t0);
  cache.store("a", identity_named("new"), 60s, t0);
  EXPECT_EQ(name_in(cache.find("a", t0)), "new");
  EXPECT_EQ(cache.statistics().entries, 1u);
  cache.clear();
  EXPECT_FALSE(cache.find("a", t0));
}

TEST(IdentityCache, IsSafeUnderConcurrentUse) {
  identity_cache cache({64, 300s, 10s});
  const auto t0 = clock::time_point{} + 1000s;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t0, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string name = "n" + std::to_string((i * 7 + t) % 100);
        if (!cache.find(name, t0)) cache.store(name, identity_named(name), 60s, t0);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const auto stats = cache.statistics();
  EXPECT_EQ(stats.hits + stats.misses, 8000u);
  EXPECT_LE(stats.entries, 64u);
}

TEST(IdentityCache, KeepsOtherFailuresForTheShortFailureTime) {
  cache_limits limits;
  limits.failure_ttl = 5s;
  identity_cache cache(limits);
  const auto t0 = clock::time_point{} + 1000s;
  cache.store_transient_failure("slow.example", fail(errc::timeout, "slow.example"), t0);
  auto hit = cache.find("slow.example", t0 + 4s);
  ASSERT_TRUE(hit);
  EXPECT_EQ(std::get<failure>(*hit).code, make_error_code(errc::timeout));
  EXPECT_FALSE(cache.find("slow.example", t0 + 5s));
  EXPECT_FALSE(cache.resolved_before("slow.example"));

  limits.failure_ttl = 0s;
  identity_cache none(limits);
  none.store_transient_failure("slow.example", fail(errc::servfail), t0);
  EXPECT_FALSE(none.find("slow.example", t0));
}

TEST(IdentityCache, AFloodOfNewNamesDoesNotEvictAProvenEntry) {
  cache_limits limits;
  limits.max_entries = 8;
  limits.max_protected_entries = 2;
  identity_cache cache(limits);
  const auto t0 = clock::time_point{} + 1000s;
  cache.store("friend", identity_named("friend"), 600s, t0);
  cache.mark_proven("friend");
  for (int i = 0; i < 1000; ++i) {
    const std::string name = "flood" + std::to_string(i);
    cache.store_transient_failure(name, fail(errc::timeout, name), t0);
    cache.store(name + "-ok", identity_named(name), 60s, t0);
  }
  EXPECT_EQ(name_in(cache.find("friend", t0 + 1s)), "friend");
  const auto stats = cache.statistics();
  EXPECT_EQ(stats.protected_entries, 1u);
  EXPECT_EQ(stats.entries, 9u);
}

TEST(IdentityCache, AProvenEntryStaysProtectedAcrossItsRefresh) {
  cache_limits limits;
  limits.max_entries = 2;
  identity_cache cache(limits);
  const auto t0 = clock::time_point{} + 1000s;
  cache.store("friend", identity_named("friend"), 60s, t0);
  cache.mark_proven("friend");
  EXPECT_FALSE(cache.find("friend", t0 + 61s));  // expired, but kept in its place
  for (int i = 0; i < 10; ++i) cache.store("n" + std::to_string(i), identity_named("n"), 60s, t0 + 61s);
  cache.store("friend", identity_named("friend again"), 60s, t0 + 62s);
  EXPECT_EQ(cache.statistics().protected_entries, 1u);
  for (int i = 10; i < 20; ++i) cache.store("n" + std::to_string(i), identity_named("n"), 60s, t0 + 62s);
  EXPECT_EQ(name_in(cache.find("friend", t0 + 63s)), "friend again");
}

TEST(IdentityCache, ProtectsOnlyIdentitiesAndDemotesTheOldestProvenEntryBeyondItsBound) {
  cache_limits limits;
  limits.max_entries = 4;
  limits.max_protected_entries = 1;
  identity_cache cache(limits);
  const auto t0 = clock::time_point{} + 1000s;
  cache.store_failure("gone", fail(errc::nxdomain), 10s, t0);
  cache.mark_proven("gone");
  cache.mark_proven("absent");
  EXPECT_EQ(cache.statistics().protected_entries, 0u);
  cache.store("a", identity_named("a"), 60s, t0);
  cache.store("b", identity_named("b"), 60s, t0);
  cache.mark_proven("a");
  cache.mark_proven("b");  // a goes back to the unproven segment, not out
  const auto stats = cache.statistics();
  EXPECT_EQ(stats.protected_entries, 1u);
  EXPECT_EQ(stats.entries, 3u);
  EXPECT_TRUE(cache.find("a", t0));
}

TEST(IdentityCache, RemembersABoundedNumberOfNamesThatResolved) {
  cache_limits limits;
  limits.max_known_names = 2;
  identity_cache cache(limits);
  const auto t0 = clock::time_point{} + 1000s;
  cache.store("a", identity_named("a"), 0s, t0);  // not cached, still remembered
  EXPECT_TRUE(cache.resolved_before("a"));
  cache.store("b", identity_named("b"), 60s, t0);
  cache.store("c", identity_named("c"), 60s, t0);
  EXPECT_FALSE(cache.resolved_before("a"));
  EXPECT_TRUE(cache.resolved_before("b"));
  EXPECT_TRUE(cache.resolved_before("c"));
  EXPECT_FALSE(cache.resolved_before("d"));
}

}  // namespace
}  // namespace danemq::dane
