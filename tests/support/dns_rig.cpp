#include "support/dns_rig.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace danemq::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* tsig_key_name = "danemq-update";

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw std::runtime_error("dns_rig: cannot write " + path.string());
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string random_base64(std::size_t octets) {
  std::vector<unsigned char> raw(octets);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) throw std::runtime_error("dns_rig: RAND_bytes");
  std::string out(4 * ((octets + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), raw.data(), static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string zone_text(const std::string& zone, unsigned ttl, const std::vector<std::string>& records) {
  std::ostringstream out;
  out << "$ORIGIN " << zone << ".\n$TTL " << ttl << "\n";
  out << "@ SOA ns." << zone << ". hostmaster." << zone << ". 1 3600 600 86400 5\n";
  out << "@ NS ns." << zone << ".\n";
  out << "ns." << zone << ". A 127.0.0.1\n";
  for (const auto& line : records) out << line << "\n";
  return out.str();
}

command_result must_run(const std::vector<std::string>& argv, const std::string& input = {}) {
  auto result = run_command(argv, {}, input, 30s);
  if (result.exit_code != 0) {
    std::string command;
    for (const auto& arg : argv) command += arg + " ";
    throw std::runtime_error("dns_rig: `" + command + "` failed (" + std::to_string(result.exit_code) +
                             "): " + result.err + result.out);
  }
  return result;
}

/// Polls `probe` until it returns true or `timeout` passes.
template <class Probe>
bool eventually(Probe probe, std::chrono::milliseconds timeout = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (probe()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

}  // namespace

dns_rig::dns_rig(dns_rig_options options) : options_(std::move(options)) {
  for (const char* tool :
       {"knotd", "keymgr", "kdig", "knsupdate", "unbound", "unbound-control", "ldns-keygen", "ldns-signzone"}) {
    if (!have_program(tool)) throw std::runtime_error(std::string("dns_rig: ") + tool + " not installed");
  }
  knot_port_ = free_port();
  unbound_port_ = free_port();
  tsig_secret_ = random_base64(32);
  anchor_file_ = dir_.path() / "trust-anchor.key";
  start_knot();
  delegate(child_zone);
  delegate(nsec3_zone);
  start_unbound();
}

dns_rig::~dns_rig() {
  // Unbound first: it must not be asking a Knot that is gone.
  unbound_.reset();
  knot_.reset();
}

std::string dns_rig::resolver() const {
  return "127.0.0.1:" + std::to_string(unbound_port_);
}
std::map<std::string, std::string> dns_rig::service_env() const {
  return {{"DNS_RESOLVER", resolver()}, {"DNSSEC_VALIDATION", "resolver"}};
}
dane::discovery_config dns_rig::discovery_config() const {
  dane::discovery_config config;
  config.resolver = resolver();
  config.dnssec = dane::dnssec_mode::resolver;
  return config;
}
std::string dns_rig::authoritative() const {
  return "127.0.0.1:" + std::to_string(knot_port_);
}
std::string dns_rig::tsig() const {
  return std::string("hmac-sha256:") + tsig_key_name + ":" + tsig_secret_;
}

std::string dns_rig::dig(const std::string& server_port, const std::vector<std::string>& args) const {
  const auto colon = server_port.rfind(':');
  std::vector<std::string> argv{
      "kdig", "@" + server_port.substr(0, colon), "-p", server_port.substr(colon + 1), "+time=1", "+retry=0"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, {}, {}, 10s).out;
}

void dns_rig::start_knot() {
  const auto zones = dir_.path() / "zones";
  const auto keys = dir_.path() / "bogus-keys";
  std::filesystem::create_directories(zones);
  std::filesystem::create_directories(keys);
  std::filesystem::create_directories(dir_.path() / "db");

  std::vector<std::string> parent_records = options_.signed_records;
  parent_records.emplace_back("device.danemq.test. A 127.0.0.1");
  parent_records.emplace_back("child.danemq.test. NS ns.child.danemq.test.");
  parent_records.emplace_back("ns.child.danemq.test. A 127.0.0.1");
  parent_records.emplace_back("nsec3.danemq.test. NS ns.nsec3.danemq.test.");
  parent_records.emplace_back("ns.nsec3.danemq.test. A 127.0.0.1");
  parent_records.emplace_back("insecure.danemq.test. NS ns.insecure.danemq.test.");
  parent_records.emplace_back("ns.insecure.danemq.test. A 127.0.0.1");
  write_file(zones / "danemq.test.zone", zone_text(signed_zone, options_.ttl, parent_records));
  write_file(zones / "child.danemq.test.zone", zone_text(child_zone, options_.ttl, options_.child_records));
  write_file(zones / "unsigned.test.zone", zone_text(unsigned_zone, options_.ttl, options_.unsigned_records));
  write_file(zones / "broken.test.zone", "$ORIGIN broken.test.\nthis is not a zone file\n");
  write_file(zones / "nsec3.danemq.test.zone", zone_text(nsec3_zone, options_.ttl, options_.nsec3_records));
  write_file(zones / "insecure.danemq.test.zone", zone_text(insecure_zone, options_.ttl, options_.insecure_records));

  // bogus.test: signed once with its own key, then every TLSA record's data
  // altered, so its RRSIG no longer verifies.
  const long long now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  constexpr long long day = 86400;
  const auto signed_bogus = keys / "bogus.test.zone.signed";
  const std::string bogus_ds =
      sign_offline(bogus_zone, options_.bogus_records, now - day, now + 30 * day, signed_bogus);
  std::istringstream lines(read_file(signed_bogus));
  std::ostringstream tampered;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("\tTLSA\t") != std::string::npos && !line.empty()) {
      char& last = line.back();
      last = last == '0' ? '1' : '0';
    }
    tampered << line << "\n";
  }
  write_file(zones / "bogus.test.zone", tampered.str());

  // expired.test: signatures that expired a day ago.
  const std::string expired_ds =
      sign_offline(expired_zone, options_.expired_records, now - 30 * day, now - day, zones / "expired.test.zone");
  // offline.test: signatures valid for offline_lifetime; TTL 60 served as 86400.
  const auto signed_offline = keys / "offline.test.zone.signed";
  const std::string offline_ds = sign_offline(offline_zone, options_.offline_records, now - day,
                                              now + options_.offline_lifetime.count(), signed_offline);
  std::istringstream offline_lines(read_file(signed_offline));
  std::ostringstream raised;
  for (std::string line; std::getline(offline_lines, line);) {
    // ldns-signzone writes "owner\tTTL\tIN\tTYPE\t...".
    const auto first_tab = line.find('\t');
    if (first_tab != std::string::npos && line.compare(first_tab, 4, "\t60\t") == 0 &&
        line.find("\tRRSIG\t") == std::string::npos) {
      line.replace(first_tab, 4, "\t86400\t");
    }
    raised << line << "\n";
  }
  write_file(zones / "offline.test.zone", raised.str());

  const auto& d = dir_.path();
  std::ostringstream conf;
  conf << "server:\n"
       << "    rundir: \"" << d.string() << "\"\n"
       << "    listen: 127.0.0.1@" << knot_port_ << "\n"
       << "    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n"
       << "    udp-max-payload: 1232\n"
       << "log:\n  - target: stderr\n    any: info\n"
       << "database:\n    storage: \"" << (d / "db").string() << "\"\n"
       << "key:\n  - id: " << tsig_key_name << "\n    algorithm: hmac-sha256\n    secret: " << tsig_secret_ << "\n"
       << "acl:\n  - id: update\n    key: " << tsig_key_name << "\n    action: update\n"
       << "policy:\n  - id: rig\n    algorithm: ecdsap256sha256\n    single-type-signing: on\n    nsec3: off\n"
       << "  - id: rig-nsec3\n    algorithm: ecdsap256sha256\n    single-type-signing: on\n    nsec3: on\n"
       << "template:\n  - id: default\n    storage: \"" << zones.string() << "\"\n    file: \"%s.zone\"\n"
       << "    zonefile-sync: -1\n    zonefile-load: difference-no-serial\n    journal-content: all\n"
       << "zone:\n"
       << "  - domain: " << signed_zone << "\n    dnssec-signing: on\n    dnssec-policy: rig\n    acl: update\n"
       << "  - domain: " << child_zone << "\n    dnssec-signing: on\n    dnssec-policy: rig\n    acl: update\n"
       << "  - domain: " << nsec3_zone << "\n    dnssec-signing: on\n    dnssec-policy: rig-nsec3\n    acl: update\n"
       << "  - domain: " << unsigned_zone << "\n    acl: update\n"
       << "  - domain: " << insecure_zone << "\n    acl: update\n"
       << "  - domain: " << expired_zone << "\n"
       << "  - domain: " << offline_zone << "\n"
       << "  - domain: " << bogus_zone << "\n"
       << "  - domain: " << broken_zone << "\n";
  write_file(d / "knot.conf", conf.str());

  knot_ = std::make_unique<child_process>(std::vector<std::string>{"knotd", "-c", (d / "knot.conf").string()});
  const auto knot_ready = [this] {
    return dig(authoritative(), {"+short", "danemq.test.", "DNSKEY"}).find("257 3 13") != std::string::npos &&
           dig(authoritative(), {"+short", "child.danemq.test.", "DNSKEY"}).find("257 3 13") != std::string::npos &&
           dig(authoritative(), {"+short", "nsec3.danemq.test.", "DNSKEY"}).find("257 3 13") != std::string::npos &&
           dig(authoritative(), {"+short", "offline.test.", "SOA"}).find("offline.test") != std::string::npos &&
           dig(authoritative(), {"+short", "bogus.test.", "SOA"}).find("bogus.test") != std::string::npos;
  };
  if (!wait_for_tcp_port("127.0.0.1", knot_port_) || !eventually(knot_ready)) {
    throw std::runtime_error("dns_rig: Knot did not serve the signed zones:\n" + knot_->errors());
  }

  // The anchor: danemq.test's KSK (a DNSKEY) and bogus.test's DS.
  std::ostringstream anchors;
  std::istringstream keys_text(dig(authoritative(), {"+short", "danemq.test.", "DNSKEY"}));
  for (std::string line; std::getline(keys_text, line);) {
    if (line.rfind("257 ", 0) == 0) anchors << "danemq.test. 3600 IN DNSKEY " << line << "\n";
  }
  anchors << bogus_ds << expired_ds << offline_ds;
  write_file(anchor_file_, anchors.str());
}

std::string dns_rig::sign_offline(const std::string& zone, const std::vector<std::string>& records, long long inception,
                                  long long expiration, const std::filesystem::path& signed_file) const {
  const auto keys = dir_.path() / "offline-keys";
  std::filesystem::create_directories(keys);
  const auto unsigned_file = keys / (zone + ".zone");
  write_file(unsigned_file, zone_text(zone, options_.ttl, records));
  const auto keygen = must_run({"sh", "-c", "cd '" + keys.string() + "' && ldns-keygen -a ECDSAP256SHA256 -k " + zone});
  const std::string key_base = keygen.out.substr(0, keygen.out.find_first_of("\r\n"));
  must_run({"ldns-signzone", "-i", std::to_string(inception), "-e", std::to_string(expiration), "-f",
            signed_file.string(), unsigned_file.string(), (keys / key_base).string()});
  return read_file(keys / (key_base + ".ds"));
}

void dns_rig::delegate(const std::string& zone) {
  const auto ds = must_run({"keymgr", "-c", (dir_.path() / "knot.conf").string(), zone + ".", "ds"});
  std::vector<std::string> commands;
  std::istringstream lines(ds.out);
  for (std::string line; std::getline(lines, line);) {
    // "child.danemq.test. DS 12345 13 2 <hex>"
    const auto at = line.find(" DS ");
    if (at == std::string::npos) continue;
    commands.push_back("update add " + line.substr(0, at) + " " + std::to_string(options_.ttl) + line.substr(at));
  }
  if (commands.empty()) throw std::runtime_error("dns_rig: keymgr gave no DS for " + zone + ": " + ds.out + ds.err);
  update(signed_zone, commands);
}

void dns_rig::start_unbound() {
  const auto& d = dir_.path();
  std::ostringstream conf;
  conf << "server:\n"
       << "  interface: 127.0.0.1\n  port: " << unbound_port_ << "\n"
       << "  do-ip6: no\n  do-daemonize: no\n  username: \"\"\n  chroot: \"\"\n"
       << "  directory: \"" << d.string() << "\"\n  pidfile: \"\"\n"
       << "  use-syslog: no\n  logfile: \"\"\n  verbosity: 1\n  num-threads: 1\n"
       << "  so-reuseport: no\n  qname-minimisation: no\n"
       << "  do-not-query-localhost: no\n  access-control: 127.0.0.0/8 allow\n"
       << "  trust-anchor-file: \"" << anchor_file_.string() << "\"\n"
       << "  local-zone: \"test.\" nodefault\n"
       << "  ede: yes\n  val-log-level: 2\n"
       << "  edns-buffer-size: 1232\n  max-udp-size: 1232\n"
       << "remote-control:\n  control-enable: yes\n  control-use-cert: no\n"
       << "  control-interface: \"" << (d / "unbound.ctl").string() << "\"\n";
  for (const char* zone : {signed_zone, child_zone, unsigned_zone, bogus_zone, broken_zone, nsec3_zone, insecure_zone,
                           expired_zone, offline_zone}) {
    conf << "stub-zone:\n  name: \"" << zone << "\"\n  stub-addr: 127.0.0.1@" << knot_port_ << "\n";
  }
  write_file(d / "unbound.conf", conf.str());
  unbound_ =
      std::make_unique<child_process>(std::vector<std::string>{"unbound", "-d", "-c", (d / "unbound.conf").string()});
  const auto validating = [this] {
    const std::string answer = dig(resolver(), {"+dnssec", "ns.child.danemq.test.", "A"});
    return answer.find(" ad") != std::string::npos && answer.find("NOERROR") != std::string::npos;
  };
  if (!wait_for_tcp_port("127.0.0.1", unbound_port_) || !eventually(validating)) {
    throw std::runtime_error("dns_rig: Unbound does not validate the test zones:\n" + unbound_->errors() +
                             unbound_->output());
  }
}

void dns_rig::update(const std::string& zone, const std::vector<std::string>& commands) {
  std::ostringstream script;
  script << "server 127.0.0.1 " << knot_port_ << "\n"
         << "key hmac-sha256:" << tsig_key_name << " " << tsig_secret_ << "\n"
         << "zone " << zone << ".\n";
  for (const auto& command : commands) script << command << "\n";
  script << "send\nanswer\n";
  must_run({"knsupdate"}, script.str());
  if (unbound_) flush(zone);
}

void dns_rig::flush(const std::string& zone) {
  must_run({"unbound-control", "-c", (dir_.path() / "unbound.conf").string(), "flush_zone", zone});
  must_run({"unbound-control", "-c", (dir_.path() / "unbound.conf").string(), "flush_bogus"});
}

}  // namespace danemq::test
