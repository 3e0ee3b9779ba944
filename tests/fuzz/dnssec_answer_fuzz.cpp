// libFuzzer target for the in-process DNSSEC validation (DNSSEC_VALIDATION=
// local) of a DNS answer to `dev._device.example.net TLSA`: the answer's
// parser, its CNAME chain, the RRSIGs (type covered, algorithm, signer, key
// tag, validity) and their verification against real keys. The zone
// example.net has a trust anchor (an ECDSA P-256 DNSKEY made at start) and a
// DNSKEY RRset signed by it, served by a small DNS server in this process, so
// a fuzzed RRSIG by example.net is checked with ldns's verification.
// Invariant: nothing crashes, leaks or hits UB, and no fuzzed answer is ever
// secure (the fuzzer does not have the key). Seed corpus:
// tests/fuzz/corpus/dnssec/ (answers with RRSIGs and CNAME chains).
//   build/fuzz/bin/dnssec_answer_fuzz tests/fuzz/corpus/dnssec -max_total_time=60

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>

#include "danemq/dane/dnssec.hpp"
#include "danemq/dane/resolver.hpp"
// Last: ldns's macros break <atomic> and <thread> included after it.
#include "ldns_handles.hpp"

namespace {

using namespace danemq;

constexpr const char* zone = "example.net.";
constexpr const char* question = "dev._device.example.net";
constexpr std::uint16_t tlsa_type = 52;

/// Owns the list and its keys (ldns_key_list_free frees both).
struct key_list_deleter {
  void operator()(ldns_key_list* keys) const noexcept { ldns_key_list_free(keys); }
};

/// The zone's key and its signed DNSKEY RRset, as one DNS answer's records.
struct signed_zone {
  std::unique_ptr<ldns_key_list, key_list_deleter> keys{ldns_key_list_new()};
  dane::ldns::unique_rr_list records;  // DNSKEY and its RRSIG
  std::string anchor_line;

  signed_zone() {
    ldns_key* key = ldns_key_new_frm_algorithm(LDNS_SIGN_ECDSAP256SHA256, 256);
    if (key == nullptr) throw std::runtime_error("ldns_key_new_frm_algorithm");
    ldns_key_list_push_key(keys.get(), key);
    ldns_key_set_pubkey_owner(key, ldns_dname_new_frm_str(zone));
    ldns_key_set_flags(key, LDNS_KEY_ZONE_KEY | LDNS_KEY_SEP_KEY);
    dane::ldns::unique_rr dnskey(ldns_key2rr(key));
    if (!dnskey) throw std::runtime_error("ldns_key2rr");
    ldns_rr_set_ttl(dnskey.get(), 3600);
    ldns_key_set_keytag(key, ldns_calc_keytag(dnskey.get()));
    const std::time_t now = std::time(nullptr);
    ldns_key_set_inception(key, static_cast<std::uint32_t>(now - 3600));
    ldns_key_set_expiration(key, static_cast<std::uint32_t>(now + 30 * 24 * 3600));
    dane::ldns::unique_rr_list rrset(ldns_rr_list_new());
    ldns_rr_list_push_rr(rrset.get(), ldns_rr_clone(dnskey.get()));
    dane::ldns::unique_rr_list signatures(ldns_sign_public(rrset.get(), keys.get()));
    if (!signatures || ldns_rr_list_rr_count(signatures.get()) == 0) throw std::runtime_error("ldns_sign_public");
    char* text = ldns_rr2str(dnskey.get());
    anchor_line = text;
    std::free(text);
    records.reset(ldns_rr_list_new());
    ldns_rr_list_push_rr(records.get(), dnskey.release());
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(signatures.get()); ++i) {
      ldns_rr_list_push_rr(records.get(), ldns_rr_clone(ldns_rr_list_rr(signatures.get(), i)));
    }
  }
};

/// Answers every query on a loopback UDP port with the zone's signed DNSKEY
/// RRset (a DS query then finds no DS: an unsigned delegation).
class key_server {
 public:
  explicit key_server(const ldns_rr_list* records) : records_(records) {
    socket_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (socket_ < 0 || ::bind(socket_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(socket_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("key_server: socket");
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~key_server() {
    stop_ = true;
    thread_.join();
    ::close(socket_);
  }
  key_server(const key_server&) = delete;
  key_server& operator=(const key_server&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  void serve() {
    std::uint8_t buffer[4096];
    while (!stop_) {
      pollfd ready{socket_, POLLIN, 0};
      if (::poll(&ready, 1, 100) <= 0) continue;
      sockaddr_in from{};
      socklen_t length = sizeof from;
      const auto got = ::recvfrom(socket_, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &length);
      if (got <= 0) continue;
      ldns_pkt* raw = nullptr;
      if (ldns_wire2pkt(&raw, buffer, static_cast<std::size_t>(got)) != LDNS_STATUS_OK) continue;
      const dane::ldns::unique_pkt query(raw);
      const dane::ldns::unique_pkt answer(ldns_pkt_clone(query.get()));
      ldns_pkt_set_qr(answer.get(), true);
      for (std::size_t i = 0; i < ldns_rr_list_rr_count(records_); ++i) {
        ldns_pkt_push_rr(answer.get(), LDNS_SECTION_ANSWER, ldns_rr_clone(ldns_rr_list_rr(records_, i)));
      }
      std::uint8_t* wire = nullptr;
      std::size_t size = 0;
      if (ldns_pkt2wire(&wire, answer.get(), &size) != LDNS_STATUS_OK) continue;
      (void)::sendto(socket_, wire, size, 0, reinterpret_cast<sockaddr*>(&from), length);
      std::free(wire);
    }
  }

  const ldns_rr_list* records_;
  int socket_{-1};
  std::uint16_t port_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct fixture {
  signed_zone signed_keys;
  key_server server{signed_keys.records.get()};
  std::shared_ptr<const dane::local_validator> validator;

  fixture() {
    const auto anchor =
        std::filesystem::temp_directory_path() / ("danemq-dnssec-fuzz-" + std::to_string(::getpid()) + ".key");
    std::ofstream(anchor) << signed_keys.anchor_line;
    dane::resolver_options options;
    options.server = dane::server_address{"127.0.0.1", server.port()};
    options.timeout = std::chrono::milliseconds(1000);
    options.retries = 0;
    auto made = dane::local_validator::create(anchor, std::make_shared<const dane::stub_resolver>(options));
    std::filesystem::remove(anchor);
    if (!made) throw std::runtime_error(made.error().message());
    validator = std::move(made).value();
  }
};

fixture& shared() {
  static fixture instance;
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& f = shared();
  const std::span<const std::uint8_t> input(data, size);
  for (const std::uint16_t type : {tlsa_type, std::uint16_t{5}}) {
    const auto verdict = f.validator->validate(input, question, type);
    // Only the holder of the zone's key can make an answer secure.
    if (verdict.status == dane::dnssec_status::secure) std::abort();
  }
  return 0;
}
