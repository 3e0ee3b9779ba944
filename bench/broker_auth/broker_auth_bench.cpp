// Broker admission by DANE: connections admitted per second and the time from
// CONNECT to CONNACK (p50, p99), one client after another, through a local
// Mosquitto with danemq_mosquitto_auth.so against the DNSSEC-signed test rig
// (local validation):
//   cold — each name's first connection: the TLSA lookup and its validation,
//          then the signature check;
//   warm — the same names again with fresh tokens: the cached identity and
//          the signature check only;
// next to anonymous connects to a plain Mosquitto in the same run. The
// tokens (ES256) are made before the clock starts: the device's signing is
// not the broker's cost.
//
// Usage: broker_auth_bench [names, default 200]

#include <mosquitto.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "danemq/identity/tlsa_record.hpp"
#include "danemq/jose/mqtt_token.hpp"
#include "support/dns_rig.hpp"
#include "support/mosquitto_rig.hpp"
#include "support/process.hpp"
#include "support/test_peers.hpp"

namespace {

using namespace danemq;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "broker_auth_bench: %s\n", what.c_str());
  std::exit(1);
}

struct login {
  std::string client_id;
  std::string user;
  std::string password;
};

/// One connection: CONNECT, wait for CONNACK, DISCONNECT. The CONNECT-to-
/// CONNACK time in ms, or a negative value when the broker refused.
double connect_once(unsigned short port, const login& who) {
  struct state {
    int rc{-1};
  } result;
  mosquitto* handle = mosquitto_new(who.client_id.c_str(), true, &result);
  if (handle == nullptr) die("mosquitto_new");
  if (!who.user.empty()) mosquitto_username_pw_set(handle, who.user.c_str(), who.password.c_str());
  mosquitto_connect_callback_set(handle,
                                 [](mosquitto*, void* context, int rc) { static_cast<state*>(context)->rc = rc; });
  const auto started = steady::now();
  if (mosquitto_connect(handle, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS) die("connect");
  while (result.rc < 0 && steady::now() - started < 10s) {
    if (mosquitto_loop(handle, 100, 1) != MOSQ_ERR_SUCCESS && result.rc < 0) break;
  }
  const double ms = std::chrono::duration<double, std::milli>(steady::now() - started).count();
  mosquitto_disconnect(handle);
  mosquitto_destroy(handle);
  return result.rc == 0 ? ms : -1.0;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<std::size_t>(p * static_cast<double>(values.size())))];
}

void run(const char* label, unsigned short port, const std::vector<login>& logins) {
  std::vector<double> latencies;
  std::size_t refused = 0;
  const auto started = steady::now();
  for (const auto& who : logins) {
    const double ms = connect_once(port, who);
    if (ms < 0) {
      ++refused;
    } else {
      latencies.push_back(ms);
    }
  }
  const double seconds = std::chrono::duration<double>(steady::now() - started).count();
  std::printf("%-22s %8zu %14.1f %10.2f %10.2f %8zu\n", label, latencies.size(),
              static_cast<double>(latencies.size()) / seconds, percentile(latencies, 0.50), percentile(latencies, 0.99),
              refused);
}

}  // namespace

int main(int argc, char** argv) {
  const int names = argc > 1 ? std::atoi(argv[1]) : 200;
  if (names < 1) die("usage: broker_auth_bench [names]");
  mosquitto_lib_init();
  test::temp_dir dir("danemq-auth-bench");
  std::vector<identity::local_identity> ids;
  test::dns_rig_options zones;
  for (int i = 0; i < names; ++i) {
    ids.push_back(
        test::make_identity(dir.path(), "d" + std::to_string(i) + ".danemq.test", identity::key_type::ec_p256));
    auto record = identity::make_tlsa_record(*ids.back().certificate, 3, 1, 0).value();
    zones.signed_records.push_back(identity::zone_file_line(ids.back().name, record, 3600));
  }
  test::dns_rig dns(zones);
  test::mosquitto_rig_options plain;
  plain.persistence = false;
  test::mosquitto_rig anonymous_broker(plain);
  test::mosquitto_rig_options with_plugin = plain;
  with_plugin.extra_config =
      "plugin " + (test::binary_dir().parent_path() / "lib" / "danemq_mosquitto_auth.so").string() +
      "\nplugin_opt_audience localhost\nplugin_opt_allow_plaintext true\n"
      "plugin_opt_dns_resolver " +
      dns.resolver() + "\nplugin_opt_dnssec_validation local\nplugin_opt_dnssec_trust_anchor " +
      dns.trust_anchor().string() + "\nplugin_opt_lookup_wait 5s\nplugin_opt_max_token_age 3600s\n";
  test::mosquitto_rig dane_broker(with_plugin);

  const auto tokens = [&] {
    std::vector<login> logins;
    for (const auto& id : ids) {
      auto token = jose::make_mqtt_token(id.name, "localhost", id.private_key(), std::chrono::system_clock::now());
      if (!token) die("token: " + token.error().message());
      logins.push_back({id.name + "/bench", id.name, *token});
    }
    return logins;
  };
  std::vector<login> anonymous;
  for (int i = 0; i < names; ++i) anonymous.push_back({"anonymous-" + std::to_string(i), "", ""});

  std::printf("%d names, one connection at a time, CONNECT to CONNACK\n", names);
  std::printf("%-22s %8s %14s %10s %10s %8s\n", "", "admitted", "connects/s", "p50 ms", "p99 ms", "refused");
  run("anonymous (no plugin)", anonymous_broker.port(), anonymous);
  run("DANE, cold cache", dane_broker.port(), tokens());
  run("DANE, warm cache", dane_broker.port(), tokens());
  run("anonymous (again)", anonymous_broker.port(), anonymous);
  mosquitto_lib_cleanup();
  return 0;
}
