#pragma once
// The DNS test rig: a real authoritative Knot serving DNSSEC-signed test
// zones (automatic signing, TSIG-signed dynamic updates) and a real validating
// Unbound anchored to them, both on free 127.0.0.1 ports, in a temporary
// directory, stopped by the destructor (also when a test fails).
//
// Zones:
//   danemq.test.        signed by Knot; the trust anchor (its KSK) is given
//                       to Unbound and written to trust_anchor() for local
//                       validation; holds `device A 127.0.0.1` (a PKIX-CD
//                       authority host) plus the options' records.
//   child.danemq.test.  signed by Knot, delegated from danemq.test with a DS:
//                       names here are validated through the DS chain.
//   unsigned.test.      not signed (insecure: no anchor covers it).
//   bogus.test.         signed once by ldns-signzone with its DS as anchor,
//                       then each TLSA record's data altered: every TLSA
//                       answer from it fails validation (bogus).
//   broken.test.        configured but its zone file does not parse: Knot
//                       answers SERVFAIL.
//   nsec3.danemq.test.  signed by Knot with NSEC3 (danemq.test and the
//                       child use NSEC), delegated from danemq.test with a DS.
//   insecure.danemq.test. not signed, delegated from danemq.test without a
//                       DS: provably insecure (the parent's NSEC at the
//                       delegation has NS and no DS).
//   expired.test.       signed once by ldns-signzone with signatures that
//                       expired a day before the start; its DS is an anchor.
//   offline.test.       signed once by ldns-signzone with signatures that
//                       expire `offline_lifetime` after the start; its DS is
//                       an anchor. Records signed with TTL 60 are served
//                       with TTL 86400 (the signature does not cover the TTL;
//                       its original TTL field says 60).

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "danemq/dane/discovery.hpp"
#include "support/process.hpp"

namespace danemq::test {

struct dns_rig_options {
  /// Zone-file lines (absolute owner names) added at start.
  std::vector<std::string> signed_records{};
  std::vector<std::string> child_records{};
  std::vector<std::string> unsigned_records{};
  std::vector<std::string> bogus_records{};
  std::vector<std::string> nsec3_records{};
  std::vector<std::string> insecure_records{};
  std::vector<std::string> expired_records{};
  std::vector<std::string> offline_records{};
  /// How long the signatures of offline.test stay valid.
  std::chrono::seconds offline_lifetime{600};
  /// Default TTL of the zones' records.
  unsigned ttl{60};
};

class dns_rig {
 public:
  static constexpr const char* signed_zone = "danemq.test";
  static constexpr const char* child_zone = "child.danemq.test";
  static constexpr const char* unsigned_zone = "unsigned.test";
  static constexpr const char* bogus_zone = "bogus.test";
  static constexpr const char* broken_zone = "broken.test";
  static constexpr const char* nsec3_zone = "nsec3.danemq.test";
  static constexpr const char* insecure_zone = "insecure.danemq.test";
  static constexpr const char* expired_zone = "expired.test";
  static constexpr const char* offline_zone = "offline.test";

  /// Starts Knot, waits until every zone is loaded and signed, delegates the
  /// child zone with its DS, starts Unbound and waits until it validates.
  /// Throws std::runtime_error (with the servers' logs) when that fails.
  explicit dns_rig(dns_rig_options options = {});
  ~dns_rig();
  dns_rig(const dns_rig&) = delete;
  dns_rig& operator=(const dns_rig&) = delete;

  /// "127.0.0.1:<port>" of the validating Unbound (DNS_RESOLVER).
  [[nodiscard]] std::string resolver() const;
  /// The DNS settings of a service that uses this rig: DNS_RESOLVER and
  /// DNSSEC_VALIDATION=resolver (Unbound validates, on loopback, so its AD
  /// bit is trusted; the default, local, would validate from the root key).
  [[nodiscard]] std::map<std::string, std::string> service_env() const;
  /// The same for discovery in the test's own process.
  [[nodiscard]] dane::discovery_config discovery_config() const;
  /// "127.0.0.1:<port>" of the authoritative Knot (DNS_UPDATE_SERVER).
  [[nodiscard]] std::string authoritative() const;
  [[nodiscard]] unsigned short resolver_port() const { return unbound_port_; }
  [[nodiscard]] unsigned short authoritative_port() const { return knot_port_; }
  /// DNSKEY of danemq.test and DS of bogus.test, expired.test and
  /// offline.test (DNSSEC_TRUST_ANCHOR for local mode).
  [[nodiscard]] const std::filesystem::path& trust_anchor() const { return anchor_file_; }
  /// "hmac-sha256:<key name>:<base64 secret>" (DNS_UPDATE_TSIG) accepted by every zone but bogus.test.
  [[nodiscard]] std::string tsig() const;
  [[nodiscard]] const std::filesystem::path& directory() const { return dir_.path(); }

  /// Sends nsupdate commands ("update add ...", "update delete ...") for
  /// `zone` to Knot with the TSIG key, then empties Unbound's cache of that
  /// zone so the next query sees the change. Throws on refusal.
  void update(const std::string& zone, const std::vector<std::string>& commands);
  /// Empties Unbound's cache of `zone`.
  void flush(const std::string& zone);

 private:
  void start_knot();
  void delegate(const std::string& zone);
  /// Signs `records` of `zone` with a new key and ldns-signzone, signatures
  /// valid from `inception` to `expiration` (seconds since the epoch); writes
  /// the signed zone file to `signed_file` and returns the key's DS record.
  [[nodiscard]] std::string sign_offline(const std::string& zone, const std::vector<std::string>& records,
                                         long long inception, long long expiration,
                                         const std::filesystem::path& signed_file) const;
  void start_unbound();
  [[nodiscard]] std::string dig(const std::string& server_port, const std::vector<std::string>& args) const;

  dns_rig_options options_;
  temp_dir dir_{"danemq-dns"};
  unsigned short knot_port_{0};
  unsigned short unbound_port_{0};
  std::string tsig_secret_;
  std::filesystem::path anchor_file_;
  std::unique_ptr<child_process> knot_;
  std::unique_ptr<child_process> unbound_;
};

}  // namespace danemq::test
