// Lookups per second of DANE discovery against the local DNS rig (Knot +
// Unbound on loopback): cache hits, and cold lookups (the cache disabled, so
// every call asks the resolver, as the original did for every message) in
// both DNSSEC modes. Prints Google Benchmark's table, then the cache's
// speed-up over the cold baseline measured in the same run.
//
//   build/<dir>/bin/dane_bench [--benchmark_min_time=0.5]

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "danemq/dane/discovery.hpp"
#include "danemq/identity/tlsa_record.hpp"
#include "support/dns_rig.hpp"
#include "support/test_certificates.hpp"

namespace {

using namespace danemq;

constexpr const char* name = "bench._device.danemq.test";

test::dns_rig& rig() {
  static test::dns_rig instance([] {
    const auto id = dane::testing::make_identity(name);
    const auto record = *identity::make_tlsa_record(*id.cert, 3, 0, 0);
    test::dns_rig_options options;
    options.signed_records = {identity::zone_file_line(name, record, 3600)};
    return options;
  }());
  return instance;
}

std::shared_ptr<dane::discovery> make_source(dane::dnssec_mode mode, bool cached) {
  dane::discovery_config config;
  config.resolver = rig().resolver();
  config.dnssec = mode;
  config.trust_anchor = rig().trust_anchor();
  config.pkix_cd = false;
  if (!cached) config.cache.max_entries = 0;
  auto source = dane::discovery::create(config);
  if (!source) throw std::runtime_error(source.error().message());
  return *source;
}

std::map<std::string, double>& rates() {
  static std::map<std::string, double> table;
  return table;
}

void run_lookups(benchmark::State& state, const std::shared_ptr<dane::discovery>& source, const char* label) {
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto found = source->discover(name);
    if (!found) {
      state.SkipWithError(found.error().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(found);
  }
  state.counters["lookups/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["dns_msgs/lookup"] = static_cast<double>(source->stats().dns_messages) /
                                      static_cast<double>(std::max<std::int64_t>(1, state.iterations()));
  // The last (measured) run of each benchmark leaves its rate for the summary.
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  if (state.thread_index() == 0 && elapsed.count() > 0) {
    const std::string key = state.threads() > 1
                                ? std::string(label) + ", " + std::to_string(state.threads()) + " threads"
                                : std::string(label);
    rates()[key] = static_cast<double>(state.iterations()) * state.threads() / elapsed.count();
  }
}

void BM_CacheHit(benchmark::State& state) {
  static std::shared_ptr<dane::discovery> source;
  if (state.thread_index() == 0) {
    source = make_source(dane::dnssec_mode::resolver, true);
    if (!source->discover(name)) state.SkipWithError("warm-up lookup failed");
  }
  run_lookups(state, source, "cache hit");
}
BENCHMARK(BM_CacheHit)->UseRealTime();
BENCHMARK(BM_CacheHit)->Threads(2)->UseRealTime();

void BM_ColdLookupResolverMode(benchmark::State& state) {
  run_lookups(state, make_source(dane::dnssec_mode::resolver, false), "cold, resolver mode");
}
BENCHMARK(BM_ColdLookupResolverMode)->UseRealTime();

void BM_ColdLookupLocalValidation(benchmark::State& state) {
  run_lookups(state, make_source(dane::dnssec_mode::local, false), "cold, local validation");
}
BENCHMARK(BM_ColdLookupLocalValidation)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::printf("DANE discovery against Knot + Unbound on loopback (resolver %s)\n", rig().resolver().c_str());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::printf("\nSummary (lookups/s, all threads):\n");
  for (const auto& [label, rate] : rates()) std::printf("  %-24s %12.0f\n", label.c_str(), rate);
  const auto& table = rates();
  if (table.count("cache hit") != 0 && table.count("cold, resolver mode") != 0) {
    std::printf("  cache speed-up over a lookup per message (the original's baseline): %.0fx\n",
                table.at("cache hit") / table.at("cold, resolver mode"));
  }
  return 0;
}
