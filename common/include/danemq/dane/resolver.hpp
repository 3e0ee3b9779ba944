#pragma once
// The resolver edge: sends a query to one DNS server over UDP, falls back to
// TCP when the answer is truncated, with a per-attempt timeout and a bounded
// number of retries. It moves bytes only; dns_message.hpp makes and reads them.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/dane/dns_message.hpp"
#include "danemq/dane/errors.hpp"

namespace danemq::dane {

/// A DNS server: a numeric IPv4 or IPv6 address and a port.
struct server_address {
  std::string ip;
  std::uint16_t port{53};

  /// "192.0.2.1:53" or "[2001:db8::1]:53".
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const server_address&, const server_address&) = default;
};

/// Parses DNS_RESOLVER / DNS_UPDATE_SERVER: "ip", "ip:port", "ipv6",
/// "[ipv6]" or "[ipv6]:port". Host names are refused (a resolver must not
/// need a resolver). Failure bad_configuration naming the problem.
[[nodiscard]] result<server_address> parse_server_address(std::string_view text);

/// The first `nameserver` of a resolv.conf file. Failure bad_configuration
/// when the file cannot be read or names no usable server.
[[nodiscard]] result<server_address> system_resolver(const std::filesystem::path& resolv_conf = "/etc/resolv.conf");

/// True for 127.0.0.0/8 and ::1: the AD bit of such a resolver does not
/// cross a network.
[[nodiscard]] bool is_loopback(const server_address& server);

struct resolver_options {
  server_address server;
  std::chrono::milliseconds timeout{2000};  ///< per attempt (UDP wait, or a whole TCP exchange)
  unsigned retries{2};                      ///< attempts after the first on timeout or socket error
  std::uint16_t edns_buffer_size{1232};     ///< advertised in queries; a larger answer is truncated by the server
};

/// Raw bytes of an answer and how they came.
struct raw_answer {
  crypto::bytes wire;
  bool over_tcp{false};  ///< the UDP answer was truncated and the query was repeated over TCP
};

/// Sends queries to one server. Thread-safe: each query uses its own socket.
class stub_resolver {
 public:
  explicit stub_resolver(resolver_options options);

  /// Asks `name`/`type` (with a random ID) and returns the answer's bytes,
  /// whose ID and QR bit were checked. Failure timeout (no answer within
  /// timeout x (1 + retries)), network_error (socket errors on every
  /// attempt), bad_name.
  [[nodiscard]] result<raw_answer> query(std::string_view name, std::uint16_t type,
                                         const query_flags& flags = {}) const;

  /// Sends an already built message (e.g. a signed update) whose ID is `id`;
  /// over TCP only when `tcp_only`, else UDP with TCP fallback on truncation.
  [[nodiscard]] result<raw_answer> exchange(std::span<const std::uint8_t> message, std::uint16_t id,
                                            bool tcp_only) const;

  /// DNS messages sent so far (each UDP datagram and each TCP query counts).
  [[nodiscard]] std::uint64_t messages_sent() const noexcept { return messages_sent_.load(); }
  [[nodiscard]] const resolver_options& options() const noexcept { return options_; }

 private:
  resolver_options options_;
  mutable std::atomic<std::uint64_t> messages_sent_{0};
};

/// A random 16-bit query ID from OpenSSL's generator (RFC 5452).
[[nodiscard]] std::uint16_t random_query_id();

}  // namespace danemq::dane
