// The flood benchmark of issue 12, section 3: a known sender (alice) writes to
// bob at a steady rate for a while, first alone, then while a publisher floods
// bob with messages naming fresh senders in a black-hole zone and a slow zone.
// Prints the p50/p99 latency (publish to inbox) of alice's messages for both
// runs, and what the flood cost in DNS queries. Goal: p99 under 1 s with the
// flood at 50 messages/s. Exits 0 when every legitimate message arrived and no
// flood message was accepted.
//
// Usage: flood_bench [seconds 20] [flood per second 50] [legit per second 5]

#include <cstdlib>
#include <iostream>

#include "flood_run.hpp"

int main(int argc, char** argv) {
  using namespace danemq::e2e;
  flood_options options;
  if (argc > 1) options.duration = std::chrono::seconds(std::strtoul(argv[1], nullptr, 10));
  if (argc > 2) options.flood_per_second = std::strtod(argv[2], nullptr);
  if (argc > 3) options.legit_per_second = std::strtod(argv[3], nullptr);
  if (options.duration.count() <= 0 || options.flood_per_second <= 0 || options.legit_per_second <= 0) {
    std::cerr << "usage: " << argv[0] << " [seconds] [flood per second] [legit per second]\n";
    return 2;
  }
  try {
    world_options quick;
    quick.key_type = danemq::identity::key_type::ec_p256;
    flood_report baseline;
    {
      world w(quick);
      auto alone = options;
      alone.flood_per_second = 0;
      baseline = run_flood(w, alone);
    }
    flood_report flooded;
    {
      world w(quick);
      flooded = run_flood(w, options);
    }
    std::cout << "without the flood:  " << baseline << "\n"
              << "with " << options.flood_per_second << " msg/s flood: " << flooded << "\n"
              << "legit p50/p99 (ms): " << baseline.percentile(0.5).count() << "/" << baseline.percentile(0.99).count()
              << " without, " << flooded.percentile(0.5).count() << "/" << flooded.percentile(0.99).count()
              << " with the flood (goal: p99 < 1000)\n";
    const bool passed = baseline.legit_delivered == baseline.legit_sent &&
                        flooded.legit_delivered == flooded.legit_sent && flooded.flood_accepted == 0;
    return passed ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "flood_bench: " << e.what() << "\n";
    return 2;
  }
}
