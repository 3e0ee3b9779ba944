#pragma once
// A DNS proxy that injects resolver faults: it listens on a loopback port of
// its own (UDP and TCP) and forwards every query to the real validating
// Unbound of tests/support/dns_rig — or, on command, behaves like a resolver
// that is down (port closed: ICMP port unreachable, TCP refused), a black
// hole (never answers), a slow one (answers after a delay, i.e. after the
// client's timeout) or a broken one (SERVFAIL). It can also flap between
// forwarding and a fault. The services under test point DNS_RESOLVER at it;
// the answers they get when it forwards are Unbound's own, byte for byte.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/process.hpp"

namespace danemq::test {

class dns_fault_proxy {
 public:
  enum class mode {
    forward,    ///< pass queries to Unbound and its answers back
    down,       ///< the port is closed: UDP gets ICMP port unreachable, TCP is refused
    blackhole,  ///< queries are read and never answered
    slow,       ///< Unbound's answer, held back by the delay
    servfail,   ///< an immediate SERVFAIL for every query
  };

  dns_fault_proxy(std::string upstream_ip, unsigned short upstream_port)
      : upstream_ip_(std::move(upstream_ip)), upstream_port_(upstream_port), port_(free_port()) {
    open_listeners();
    upstream_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (upstream_ < 0) throw std::runtime_error("dns_fault_proxy: socket");
    thread_ = std::thread([this] { loop(); });
  }
  ~dns_fault_proxy() {
    stop_ = true;
    thread_.join();
    for (auto& worker : tcp_workers_) worker.join();
    close_listeners();
    ::close(upstream_);
  }
  dns_fault_proxy(const dns_fault_proxy&) = delete;
  dns_fault_proxy& operator=(const dns_fault_proxy&) = delete;

  /// DNS_RESOLVER for the services: "127.0.0.1:<port>".
  [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  /// Switches the behaviour now (and stops flapping).
  void set(mode next, std::chrono::milliseconds delay = std::chrono::milliseconds(0)) {
    std::lock_guard lock(mutex_);
    flap_period_.reset();
    mode_ = next;
    delay_ = delay;
  }
  /// Alternates `fault_period` of `fault` with `forward_period` of forwarding, starting with the fault.
  void flap(mode fault, std::chrono::milliseconds fault_period, std::chrono::milliseconds forward_period) {
    std::lock_guard lock(mutex_);
    flap_fault_ = fault;
    flap_period_ = fault_period;
    flap_forward_period_ = forward_period;
    flap_started_ = std::chrono::steady_clock::now();
  }
  /// For UDP queries of names at or below `zone` (lower case, no final
  /// dot): `fault` (blackhole, servfail or slow with `delay`) whatever the
  /// global mode; the other names are not affected.
  void set_zone(const std::string& zone, mode fault, std::chrono::milliseconds delay = std::chrono::milliseconds(0)) {
    std::lock_guard lock(mutex_);
    zones_[zone] = zone_rule{fault, delay};
  }
  /// UDP queries received for names at or below `zone` (set with set_zone()).
  [[nodiscard]] std::uint64_t queries_in(const std::string& zone) const {
    std::lock_guard lock(mutex_);
    const auto found = zones_.find(zone);
    return found == zones_.end() ? 0 : found->second.queries;
  }

  /// Queries received (UDP datagrams and TCP queries), and those answered with Unbound's answer.
  [[nodiscard]] std::uint64_t queries() const { return queries_.load(); }
  [[nodiscard]] std::uint64_t forwarded() const { return forwarded_.load(); }

 private:
  using steady = std::chrono::steady_clock;
  struct held_answer {
    steady::time_point due;
    sockaddr_in client;
    std::vector<std::uint8_t> wire;
  };
  struct waiting_query {
    sockaddr_in client;
    std::uint16_t client_id;
    steady::time_point asked;
    std::optional<std::chrono::milliseconds> delay;  // a slow zone's
  };
  struct zone_rule {
    mode fault;
    std::chrono::milliseconds delay;
    std::uint64_t queries{0};
  };

  /// The question's name, lower case, without the final dot.
  [[nodiscard]] static std::string qname_of(const std::vector<std::uint8_t>& query) {
    std::string name;
    std::size_t at = 12;
    while (at < query.size() && query[at] != 0 && query[at] < 64) {
      const std::size_t length = query[at];
      if (at + 1 + length > query.size()) break;
      if (!name.empty()) name += '.';
      for (std::size_t i = 0; i < length; ++i) name += static_cast<char>(std::tolower(query[at + 1 + i]));
      at += 1 + length;
    }
    return name;
  }
  /// The rule of the zone `query` asks in, counting the query; none: global mode.
  [[nodiscard]] std::optional<std::pair<mode, std::chrono::milliseconds>> zone_rule_for(
      const std::vector<std::uint8_t>& query) {
    std::lock_guard lock(mutex_);
    if (zones_.empty()) return std::nullopt;
    const auto name = qname_of(query);
    for (auto& [zone, rule] : zones_) {
      if (name == zone || (name.size() > zone.size() && name.ends_with("." + zone))) {
        ++rule.queries;
        return std::pair{rule.fault, rule.delay};
      }
    }
    return std::nullopt;
  }

  [[nodiscard]] std::pair<mode, std::chrono::milliseconds> current() const {
    std::lock_guard lock(mutex_);
    if (flap_period_) {
      const auto cycle = *flap_period_ + flap_forward_period_;
      const auto into = (steady::now() - flap_started_) % cycle;
      return {into < *flap_period_ ? flap_fault_ : mode::forward, delay_};
    }
    return {mode_, delay_};
  }

  [[nodiscard]] static sockaddr_in ipv4(const std::string& ip, unsigned short port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    if (::inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1)
      throw std::runtime_error("not an IPv4 address: " + ip);
    return address;
  }
  [[nodiscard]] sockaddr_in upstream() const { return ipv4(upstream_ip_, upstream_port_); }

  void open_listeners() {
    const auto address = ipv4("127.0.0.1", port_);
    const int one = 1;
    udp_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    tcp_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ::setsockopt(udp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(udp_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::bind(tcp_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 || ::listen(tcp_, 16) != 0) {
      throw std::runtime_error("dns_fault_proxy: cannot listen on port " + std::to_string(port_) + ": " +
                               std::strerror(errno));
    }
  }
  void close_listeners() {
    if (udp_ >= 0) ::close(udp_);
    if (tcp_ >= 0) ::close(tcp_);
    udp_ = tcp_ = -1;
  }

  /// The query turned into its SERVFAIL answer: header and question only.
  [[nodiscard]] static std::optional<std::vector<std::uint8_t>> servfail_for(const std::vector<std::uint8_t>& query) {
    if (query.size() < 12) return std::nullopt;
    std::size_t at = 12;
    while (at < query.size() && query[at] != 0) at += 1U + query[at];
    at += 1 + 4;  // root label, QTYPE, QCLASS
    if (at > query.size()) return std::nullopt;
    std::vector<std::uint8_t> answer(query.begin(), query.begin() + static_cast<std::ptrdiff_t>(at));
    answer[2] = static_cast<std::uint8_t>(0x80 | (query[2] & 0x79));  // QR, opcode, RD kept
    answer[3] = 0x80 | 2;                                             // RA, RCODE SERVFAIL
    answer[4] = 0, answer[5] = 1;                                     // QDCOUNT 1
    for (std::size_t i = 6; i < 12; ++i) answer[i] = 0;               // no answer, authority, additional
    return answer;
  }

  void loop() {
    std::map<std::uint16_t, waiting_query> waiting;  // by the id we gave the query upstream
    std::deque<held_answer> held;                    // slow mode: answers waiting for their time
    std::uint16_t next_id = 1;
    bool listening = true;
    std::vector<std::uint8_t> buffer(65535);
    while (!stop_) {
      const auto [now_mode, delay] = current();
      if ((now_mode == mode::down) == listening) {
        if (listening) {
          close_listeners();
        } else {
          open_listeners();
        }
        listening = !listening;
      }
      std::vector<pollfd> fds{{upstream_, POLLIN, 0}};
      if (listening) {
        fds.push_back({udp_, POLLIN, 0});
        fds.push_back({tcp_, POLLIN, 0});
      }
      ::poll(fds.data(), fds.size(), 10);
      const auto now = steady::now();

      // Answers from Unbound.
      while (true) {
        const auto got = ::recv(upstream_, buffer.data(), buffer.size(), 0);
        if (got < 12) break;
        const std::uint16_t id = static_cast<std::uint16_t>(buffer[0] << 8 | buffer[1]);
        auto found = waiting.find(id);
        if (found == waiting.end()) continue;
        std::vector<std::uint8_t> answer(buffer.begin(), buffer.begin() + got);
        answer[0] = static_cast<std::uint8_t>(found->second.client_id >> 8);
        answer[1] = static_cast<std::uint8_t>(found->second.client_id & 0xff);
        const auto hold = found->second.delay ? *found->second.delay
                                              : (now_mode == mode::slow ? delay : std::chrono::milliseconds(0));
        held.push_back({now + hold, found->second.client, std::move(answer)});
        waiting.erase(found);
      }
      // Forget queries Unbound never answered.
      std::erase_if(waiting, [&](const auto& entry) { return now - entry.second.asked > std::chrono::seconds(5); });

      if (listening) {
        // Queries over UDP.
        while (true) {
          sockaddr_in client{};
          socklen_t length = sizeof client;
          const auto got =
              ::recvfrom(udp_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&client), &length);
          if (got < 12) break;
          ++queries_;
          std::vector<std::uint8_t> query(buffer.begin(), buffer.begin() + got);
          const auto rule = zone_rule_for(query);
          const auto query_mode = rule ? rule->first : now_mode;
          if (query_mode == mode::blackhole) continue;
          if (query_mode == mode::servfail) {
            if (auto answer = servfail_for(query)) held.push_back({now, client, std::move(*answer)});
            continue;
          }
          const std::uint16_t client_id = static_cast<std::uint16_t>(query[0] << 8 | query[1]);
          const std::uint16_t id = next_id++;
          if (next_id == 0) next_id = 1;
          query[0] = static_cast<std::uint8_t>(id >> 8);
          query[1] = static_cast<std::uint8_t>(id & 0xff);
          waiting[id] = waiting_query{client, client_id, now,
                                      rule && rule->first == mode::slow ? std::optional(rule->second) : std::nullopt};
          const auto to = upstream();
          (void)::sendto(upstream_, query.data(), query.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
        }
        // Queries over TCP (after a truncated answer): one worker per connection.
        while (true) {
          const int connection = ::accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC);
          if (connection < 0) break;
          tcp_workers_.emplace_back(
              [this, connection, now_mode = now_mode, delay = delay] { serve_tcp(connection, now_mode, delay); });
        }
      }

      // Send the answers whose time has come.
      for (auto it = held.begin(); it != held.end();) {
        if (it->due > now) {
          ++it;
          continue;
        }
        if (listening) {
          ++forwarded_;
          (void)::sendto(udp_, it->wire.data(), it->wire.size(), 0, reinterpret_cast<const sockaddr*>(&it->client),
                         sizeof it->client);
        }
        it = held.erase(it);
      }
    }
  }

  static bool read_exactly(int fd, std::uint8_t* data, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
      pollfd ready{fd, POLLIN, 0};
      if (::poll(&ready, 1, 3000) <= 0) return false;
      const auto got = ::recv(fd, data + done, size - done, 0);
      if (got <= 0) return false;
      done += static_cast<std::size_t>(got);
    }
    return true;
  }
  static bool framed_read(int fd, std::vector<std::uint8_t>& message) {
    std::uint8_t length[2];
    if (!read_exactly(fd, length, 2)) return false;
    message.resize(static_cast<std::size_t>(length[0] << 8 | length[1]));
    return read_exactly(fd, message.data(), message.size());
  }
  static void framed_write(int fd, const std::vector<std::uint8_t>& message) {
    std::vector<std::uint8_t> framed{static_cast<std::uint8_t>(message.size() >> 8),
                                     static_cast<std::uint8_t>(message.size() & 0xff)};
    framed.insert(framed.end(), message.begin(), message.end());
    (void)::send(fd, framed.data(), framed.size(), MSG_NOSIGNAL);
  }

  void serve_tcp(int connection, mode now_mode, std::chrono::milliseconds delay) {
    std::vector<std::uint8_t> query;
    if (framed_read(connection, query) && query.size() >= 12) {
      ++queries_;
      if (now_mode == mode::servfail) {
        if (auto answer = servfail_for(query)) framed_write(connection, *answer);
      } else if (now_mode == mode::forward || now_mode == mode::slow) {
        const int upstream_socket = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const auto to = upstream();
        std::vector<std::uint8_t> answer;
        if (::connect(upstream_socket, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0) {
          framed_write(upstream_socket, query);
          if (framed_read(upstream_socket, answer)) {
            if (now_mode == mode::slow) std::this_thread::sleep_for(delay);
            ++forwarded_;
            framed_write(connection, answer);
          }
        }
        ::close(upstream_socket);
      } else if (now_mode == mode::blackhole) {
        std::vector<std::uint8_t> ignored;
        (void)framed_read(connection, ignored);  // holds the connection until the client gives up
      }
    }
    ::close(connection);
  }

  std::string upstream_ip_;
  unsigned short upstream_port_;
  unsigned short port_;
  int udp_{-1};
  int tcp_{-1};
  int upstream_{-1};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> queries_{0};
  std::atomic<std::uint64_t> forwarded_{0};
  mutable std::mutex mutex_;
  mode mode_{mode::forward};
  std::chrono::milliseconds delay_{0};
  mode flap_fault_{mode::servfail};
  std::optional<std::chrono::milliseconds> flap_period_;
  std::chrono::milliseconds flap_forward_period_{0};
  steady::time_point flap_started_{};
  std::map<std::string, zone_rule> zones_;
  std::vector<std::thread> tcp_workers_;  // loop thread only, joined at destruction
  std::thread thread_;
};

}  // namespace danemq::test
