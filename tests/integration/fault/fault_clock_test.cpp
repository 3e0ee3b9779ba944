// Fault injection, clocks: a sender whose clock runs ahead of or behind the
// receiver's, inside and outside the allowance (MAX_CLOCK_SKEW for a clock
// ahead, MESSAGE_MAX_AGE for one behind). The sender's clock is injected the
// way the message layer takes it — jose::seal_options::now, the `iat` a
// sender with that clock writes — and the message travels the real path:
// broker, receiver process, real DNS. Inside the allowance the message is
// delivered; outside it is quarantined as from_the_future or too_old.

#include "fault_support.hpp"

namespace danemq::e2e {
namespace {

using clock = std::chrono::system_clock;

struct skewed {
  std::string text;
  std::chrono::seconds sender_clock_offset;
  std::optional<jose::errc> refused;  ///< empty: delivered
};

void expect_fates(world& w, const std::string& to, const std::vector<skewed>& cases) {
  std::vector<std::string> wires;
  for (const auto& message : cases) {
    jose::seal_options options;
    options.now = clock::now() + message.sender_clock_offset;
    wires.push_back(w.seal("alice", to, message.text, options));
  }
  w.publish(to, wires);
  ASSERT_TRUE(w.wait_for_stored(to, cases.size(), 30s));
  const auto inbox = texts_of(w.inbox(to));
  const auto quarantine = w.quarantine(to);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& message = cases[i];
    SCOPED_TRACE(message.text);
    const bool delivered = std::find(inbox.begin(), inbox.end(), message.text) != inbox.end();
    if (!message.refused) {
      EXPECT_TRUE(delivered);
      continue;
    }
    EXPECT_FALSE(delivered);
    const std::string wire = wires[i];
    const auto found = std::find_if(quarantine.begin(), quarantine.end(), [&](const store::quarantine_entry& entry) {
      return std::string(entry.payload.begin(), entry.payload.end()) == wire;
    });
    ASSERT_NE(found, quarantine.end());
    EXPECT_EQ(found->reason.category, "jose");
    EXPECT_EQ(found->reason.value, static_cast<int>(*message.refused)) << found->reason.text;
  }
}

TEST(FaultClock, SkewInsideTheDefaultAllowanceIsDeliveredAndOutsideItIsQuarantined) {
  world_options options;
  options.key_type = identity::key_type::ec_p256;
  world w(options);
  auto bob = w.start_receiver("bob");  // MAX_CLOCK_SKEW 60s, MESSAGE_MAX_AGE 7d
  expect_fates(w, "bob",
               {{"sender 30 s ahead", 30s, std::nullopt},
                {"sender 55 s ahead", 55s, std::nullopt},
                {"sender 2 min ahead", 120s, jose::errc::from_the_future},
                {"sender 1 h ahead", 3600s, jose::errc::from_the_future},
                {"sender 2 min behind", -120s, std::nullopt},
                {"sender 4 min behind", -240s, std::nullopt},
                {"sender 6 min behind", -360s, std::nullopt},
                {"sender 6 days behind", -6 * 86400s, std::nullopt},
                {"sender 8 days behind", -8 * 86400s, jose::errc::too_old},
                {"clocks agree", 0s, std::nullopt}});
  EXPECT_EQ(bob->stop(), 0);
}

TEST(FaultClock, TheAllowanceIsASettingOfTheReceiver) {
  world_options options;
  options.key_type = identity::key_type::ec_p256;
  world w(options);
  auto carol = w.start_receiver("carol", {{"MAX_CLOCK_SKEW", "5s"}, {"MESSAGE_MAX_AGE", "30s"}});
  expect_fates(w, "carol",
               {{"sender 3 s ahead", 3s, std::nullopt},
                {"sender 30 s ahead", 30s, jose::errc::from_the_future},
                {"sender 20 s behind", -20s, std::nullopt},
                {"sender 2 min behind", -120s, jose::errc::too_old}});
  EXPECT_EQ(carol->stop(), 0);
}

}  // namespace
}  // namespace danemq::e2e
