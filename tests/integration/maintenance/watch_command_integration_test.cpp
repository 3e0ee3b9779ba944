// danemq-maintenance watch, the maintenance container's CMD, against the real
// DNS rig (Knot + validating Unbound): it keeps running without an identity,
// logs the drift while DNS does not publish it, says when DNS and the
// identity agree, and stops with exit 0 on SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <map>
#include <string>

#include "support/dns_rig.hpp"
#include "support/process.hpp"

namespace danemq::test {
namespace {

using namespace std::chrono_literals;

TEST(MaintenanceWatch, FollowsTheIdentityFromMissingToDriftToInSyncAndStopsOnSigterm) {
  dns_rig rig;
  temp_dir identity_dir("danemq-watch");
  const std::string name = "carol.danemq.test";
  const std::string maintenance = (binary_dir() / "danemq-maintenance").string();
  std::map<std::string, std::string> env{{"IDENTITY_NAME", name},
                                         {"CRYPTO_PATH", identity_dir.path().string()},
                                         {"DNS_RESOLVER", rig.resolver()},
                                         {"DNSSEC_VALIDATION", "resolver"},
                                         {"WATCH_INTERVAL", "1"}};

  child_process watch({maintenance, "watch"}, env);
  ASSERT_TRUE(watch.wait_for_output("no usable local identity", 20s, true)) << watch.errors();
  EXPECT_NE(watch.errors().find("create_selfsigned_id"), std::string::npos) << watch.errors();

  const auto created = run_command({maintenance, "create-selfsigned-id"}, env);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  ASSERT_TRUE(watch.wait_for_output("DRIFT between DNS and the local identity", 20s, true)) << watch.errors();

  auto publish_env = env;
  publish_env["DNS_UPDATE_SERVER"] = rig.authoritative();
  publish_env["DNS_UPDATE_TSIG"] = rig.tsig();
  const auto published = run_command({maintenance, "publish-tlsa"}, publish_env);
  ASSERT_EQ(published.exit_code, 0) << published.out << published.err;
  rig.flush(dns_rig::signed_zone);
  ASSERT_TRUE(watch.wait_for_output("back in sync: DNS publishes the local identity securely", 20s, true))
      << watch.errors();

  ASSERT_TRUE(watch.running()) << watch.errors();
  watch.signal(SIGTERM);
  const auto status = watch.wait(5s);
  ASSERT_TRUE(status.has_value()) << "watch did not stop on SIGTERM";
  EXPECT_EQ(*status, 0) << watch.errors();
  EXPECT_NE(watch.errors().find("watch: stopping (SIGTERM)"), std::string::npos) << watch.errors();
}

}  // namespace
}  // namespace danemq::test
