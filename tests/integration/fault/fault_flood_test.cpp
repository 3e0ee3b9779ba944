// Fault injection, cost: a publisher on the open broker floods the receiver
// with messages whose claimed senders are fresh names in a zone that never
// answers and in one that answers late, while a known sender writes too.
// The known sender's messages must all arrive, none of the flood's may be
// accepted, and the black-hole zone must be asked a bounded number of times
// (failures cached, the zone failing fast, its lookups limited). Latency
// figures are printed, not asserted: bench/flood compares them with a run
// without the flood.

#include "fault_support.hpp"
#include "flood_run.hpp"

namespace danemq::e2e {
namespace {

TEST(FaultFlood, AFloodNamingBlackHoleAndSlowZonesDoesNotStopAKnownSendersMessages) {
  world w(quick_world());
  flood_options options;
  options.duration = std::chrono::seconds(8);
  options.legit_per_second = 5;
  options.flood_per_second = 50;
  const auto report = run_flood(w, options);
  std::cout << "with the flood: " << report << "\n";

  EXPECT_EQ(report.legit_delivered, report.legit_sent) << report;
  EXPECT_EQ(report.flood_accepted, 0u) << report;
  EXPECT_EQ(report.flood_quarantined + report.flood_pending, report.flood_sent) << report;
  // Without the limits every black-hole message costs (1 + DNS_RETRIES)
  // queries, again at every retry; with them, a few lookups per hold time.
  const auto blackhole_messages = report.flood_sent / 2;
  EXPECT_GT(report.blackhole_queries, 0u) << report;
  EXPECT_LT(report.blackhole_queries, blackhole_messages / 4) << report;
}

}  // namespace
}  // namespace danemq::e2e
