#pragma once
// A resolver that lies: it listens on a loopback UDP port of its own and
// answers every TLSA query with a forged answer and the AD bit set — a TLSA
// record of the attacker's choosing, or NXDOMAIN — or with the real answer
// stripped of its authority section, and forwards every other
// query (DNSKEY, DS, ...) to the real validating Unbound of
// tests/support/dns_rig, so a validator sees the real chain of trust and
// only the TLSA answer forged. What an on-path attacker between a device and
// an upstream resolver can do when nothing checks more than the AD bit.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/process.hpp"

namespace danemq::test {

class lying_resolver {
 public:
  enum class lie {
    tlsa,             ///< NOERROR, AD=1, one TLSA record with the forged RDATA
    nxdomain,         ///< NXDOMAIN, AD=1, nothing else
    strip_authority,  ///< Unbound's real TLSA answer without its authority and additional sections
  };

  /// `forged_rdata`: the TLSA RDATA (usage, selector, matching, data) of the lie.
  lying_resolver(unsigned short upstream_port, std::vector<std::uint8_t> forged_rdata, lie how = lie::tlsa)
      : upstream_port_(upstream_port), rdata_(std::move(forged_rdata)), lie_(how), port_(free_port()) {
    socket_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (socket_ < 0) throw std::runtime_error("lying_resolver: socket");
    const sockaddr_in address = loopback(port_);
    if (::bind(socket_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      ::close(socket_);
      throw std::runtime_error("lying_resolver: bind");
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~lying_resolver() {
    stop_ = true;
    thread_.join();
    ::close(socket_);
  }
  lying_resolver(const lying_resolver&) = delete;
  lying_resolver& operator=(const lying_resolver&) = delete;

  /// DNS_RESOLVER: "127.0.0.1:<port>".
  [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  /// TLSA queries answered with a lie so far.
  [[nodiscard]] unsigned lies_told() const { return lies_; }

 private:
  static sockaddr_in loopback(unsigned short port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    return address;
  }

  void loop() {
    std::vector<std::uint8_t> query(65535);
    while (!stop_) {
      pollfd ready{socket_, POLLIN, 0};
      if (::poll(&ready, 1, 50) <= 0) continue;
      sockaddr_in client{};
      socklen_t client_size = sizeof client;
      const ssize_t n =
          ::recvfrom(socket_, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&client), &client_size);
      if (n < 12) continue;
      const std::vector<std::uint8_t> asked(query.begin(), query.begin() + n);
      std::vector<std::uint8_t> answer;
      if (!is_tlsa(asked)) {
        answer = forward(asked);
      } else if (lie_ == lie::strip_authority) {
        answer = strip_authority(forward(asked));
      } else {
        answer = forge(asked);
      }
      if (answer.empty()) continue;
      (void)::sendto(socket_, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&client), client_size);
    }
  }

  /// The end of the question section (after QTYPE and QCLASS), or 0.
  static std::size_t question_end(const std::vector<std::uint8_t>& query) {
    std::size_t at = 12;
    while (at < query.size() && query[at] != 0) at += 1 + query[at];
    at += 1 + 4;
    return at <= query.size() ? at : 0;
  }
  static bool is_tlsa(const std::vector<std::uint8_t>& query) {
    const std::size_t end = question_end(query);
    return end != 0 && query[end - 4] == 0 && query[end - 3] == 52;
  }

  std::vector<std::uint8_t> forge(const std::vector<std::uint8_t>& query) {
    const std::size_t end = question_end(query);
    std::vector<std::uint8_t> out(query.begin(), query.begin() + static_cast<std::ptrdiff_t>(end));
    const bool nxdomain = lie_ == lie::nxdomain;
    out[2] = static_cast<std::uint8_t>(0x80 | (query[2] & 0x01));                              // QR, RD copied
    out[3] = static_cast<std::uint8_t>(0x80 | 0x20 | (query[3] & 0x10) | (nxdomain ? 3 : 0));  // RA, AD, CD copied
    out[4] = 0;
    out[5] = 1;
    out[6] = 0;
    out[7] = nxdomain ? 0 : 1;
    for (std::size_t i = 8; i < 12; ++i) out[i] = 0;  // no authority, no EDNS
    if (!nxdomain) {
      const std::uint16_t length = static_cast<std::uint16_t>(rdata_.size());
      const std::uint8_t record[] = {0xC0,
                                     0x0C,
                                     0,
                                     52,
                                     0,
                                     1,
                                     0,
                                     0,
                                     0x0E,
                                     0x10,
                                     static_cast<std::uint8_t>(length >> 8),
                                     static_cast<std::uint8_t>(length & 0xFF)};
      out.insert(out.end(), std::begin(record), std::end(record));
      out.insert(out.end(), rdata_.begin(), rdata_.end());
    }
    ++lies_;
    return out;
  }

  /// The answer cut after its answer section (the proofs a wildcard
  /// expansion needs are in the authority section).
  std::vector<std::uint8_t> strip_authority(std::vector<std::uint8_t> answer) {
    const std::size_t end_of_question = question_end(answer);
    if (end_of_question == 0) return {};
    const auto skip_name = [&answer](std::size_t at) -> std::size_t {
      while (at < answer.size()) {
        if ((answer[at] & 0xC0) == 0xC0) return at + 2;
        if (answer[at] == 0) return at + 1;
        at += 1 + answer[at];
      }
      return answer.size();
    };
    std::size_t at = end_of_question;
    const unsigned records = (answer[6] << 8) | answer[7];
    for (unsigned i = 0; i < records && at < answer.size(); ++i) {
      at = skip_name(at);
      if (at + 10 > answer.size()) return {};
      at += 10 + ((answer[at + 8] << 8) | answer[at + 9]);
    }
    if (at > answer.size()) return {};
    answer.resize(at);
    for (std::size_t i = 8; i < 12; ++i) answer[i] = 0;
    ++lies_;
    return answer;
  }

  std::vector<std::uint8_t> forward(const std::vector<std::uint8_t>& query) const {
    const int upstream = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (upstream < 0) return {};
    const sockaddr_in address = loopback(upstream_port_);
    std::vector<std::uint8_t> answer(65535);
    ssize_t n = -1;
    if (::sendto(upstream, query.data(), query.size(), 0, reinterpret_cast<const sockaddr*>(&address),
                 sizeof address) == static_cast<ssize_t>(query.size())) {
      pollfd ready{upstream, POLLIN, 0};
      if (::poll(&ready, 1, 3000) > 0) n = ::recv(upstream, answer.data(), answer.size(), 0);
    }
    ::close(upstream);
    if (n <= 0) return {};
    answer.resize(static_cast<std::size_t>(n));
    return answer;
  }

  unsigned short upstream_port_;
  std::vector<std::uint8_t> rdata_;
  lie lie_;
  unsigned short port_;
  int socket_{-1};
  std::atomic<bool> stop_{false};
  std::atomic<unsigned> lies_{0};
  std::thread thread_;
};

}  // namespace danemq::test
