#include "danemq/dane/resolver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "support/process.hpp"
#include "unit/dane/dns_packets.hpp"

namespace danemq::dane {
namespace {

bool failed_with(const auto& r, errc code) {
  return !r && r.error().code == make_error_code(code);
}

TEST(ServerAddress, ParsesIpv4WithAndWithoutPort) {
  auto plain = parse_server_address("192.0.2.1");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->ip, "192.0.2.1");
  EXPECT_EQ(plain->port, 53);
  auto with_port = parse_server_address(" 127.0.0.1:5353 ");
  ASSERT_TRUE(with_port);
  EXPECT_EQ(with_port->port, 5353);
  EXPECT_EQ(with_port->to_string(), "127.0.0.1:5353");
}

TEST(ServerAddress, ParsesIpv6BareAndBracketed) {
  auto bare = parse_server_address("2001:db8::1");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->ip, "2001:db8::1");
  EXPECT_EQ(bare->port, 53);
  auto bracketed = parse_server_address("[::1]:8053");
  ASSERT_TRUE(bracketed);
  EXPECT_EQ(bracketed->ip, "::1");
  EXPECT_EQ(bracketed->port, 8053);
  EXPECT_EQ(bracketed->to_string(), "[::1]:8053");
}

TEST(ServerAddress, RefusesHostNamesAndBadPorts) {
  EXPECT_TRUE(failed_with(parse_server_address("dns.example.net"), errc::bad_configuration));
  EXPECT_TRUE(failed_with(parse_server_address("127.0.0.1:0"), errc::bad_configuration));
  EXPECT_TRUE(failed_with(parse_server_address("127.0.0.1:70000"), errc::bad_configuration));
  EXPECT_TRUE(failed_with(parse_server_address("127.0.0.1:"), errc::bad_configuration));
  EXPECT_TRUE(failed_with(parse_server_address("[::1"), errc::bad_configuration));
  EXPECT_TRUE(failed_with(parse_server_address("[::1]53"), errc::bad_configuration));
  EXPECT_TRUE(failed_with(parse_server_address(""), errc::bad_configuration));
}

TEST(ServerAddress, KnowsLoopback) {
  EXPECT_TRUE(is_loopback(*parse_server_address("127.0.0.53")));
  EXPECT_TRUE(is_loopback(*parse_server_address("::1")));
  EXPECT_FALSE(is_loopback(*parse_server_address("192.0.2.1")));
  EXPECT_FALSE(is_loopback(*parse_server_address("2001:db8::1")));
}

TEST(SystemResolver, ReadsTheFirstUsableNameserver) {
  test::temp_dir dir;
  const auto path = dir.path() / "resolv.conf";
  std::ofstream(path) << "# comment\nsearch example.net\nnameserver fe80::1%eth0\nnameserver 2001:db8::53\n"
                         "nameserver 192.0.2.53\n";
  auto server = system_resolver(path);
  ASSERT_TRUE(server) << server.error().message();
  EXPECT_EQ(server->ip, "2001:db8::53");
  EXPECT_EQ(server->port, 53);
}

TEST(SystemResolver, RefusesAFileWithoutNameserver) {
  test::temp_dir dir;
  const auto path = dir.path() / "resolv.conf";
  std::ofstream(path) << "search example.net\n";
  EXPECT_TRUE(failed_with(system_resolver(path), errc::bad_configuration));
  EXPECT_TRUE(failed_with(system_resolver(dir.path() / "missing"), errc::bad_configuration));
}

/// A UDP socket on loopback (IPv4 or IPv6) that the test drives by hand.
class udp_server {
 public:
  explicit udp_server(int family = AF_INET) : fd_(::socket(family, SOCK_DGRAM, 0)) {
    sockaddr_storage storage{};
    socklen_t length = 0;
    if (family == AF_INET6) {
      auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
      v6->sin6_family = AF_INET6;
      v6->sin6_addr = in6addr_loopback;
      length = sizeof(sockaddr_in6);
    } else {
      auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
      v4->sin_family = AF_INET;
      v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      length = sizeof(sockaddr_in);
    }
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&storage), length) != 0) throw std::runtime_error("bind");
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&storage), &length);
    port_ = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                                     : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  }
  ~udp_server() { ::close(fd_); }
  udp_server(const udp_server&) = delete;
  udp_server& operator=(const udp_server&) = delete;
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_;
  std::uint16_t port_{0};
};

TEST(StubResolver, TimesOutAgainstASilentServerAfterItsRetries) {
  udp_server silent;
  stub_resolver resolver({{"127.0.0.1", silent.port()}, std::chrono::milliseconds(100), 2, 1232});
  const auto start = std::chrono::steady_clock::now();
  auto answer = resolver.query("dev.example.net", rr_type::tlsa);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(failed_with(answer, errc::timeout));
  EXPECT_EQ(resolver.messages_sent(), 3u);
  EXPECT_GE(elapsed, std::chrono::milliseconds(300));  // no upper bound: a loaded machine may be slow
}

/// Answers one query on `server`: first with a wrong ID, then properly.
std::thread answer_once(const udp_server& server) {
  return std::thread([&server] {
    std::uint8_t query[512];
    sockaddr_storage from{};
    socklen_t length = sizeof from;
    const ssize_t n = ::recvfrom(server.fd(), query, sizeof query, 0, reinterpret_cast<sockaddr*>(&from), &length);
    if (n < 12) return;
    const auto id = static_cast<std::uint16_t>((query[0] << 8) | query[1]);
    auto spoofed = testing::make_response({.name = "dev.example.net", .id = static_cast<std::uint16_t>(id + 1)});
    ::sendto(server.fd(), spoofed.data(), spoofed.size(), 0, reinterpret_cast<sockaddr*>(&from), length);
    auto real = testing::make_response(
        {.name = "dev.example.net", .answer = {"dev.example.net. 60 IN TLSA 3 1 1 " + std::string(64, 'a')}, .id = id});
    ::sendto(server.fd(), real.data(), real.size(), 0, reinterpret_cast<sockaddr*>(&from), length);
  });
}

TEST(StubResolver, IgnoresAnswersWithAnotherIdAndTakesTheRightOne) {
  udp_server server;
  std::thread responder = answer_once(server);
  stub_resolver resolver({{"127.0.0.1", server.port()}, std::chrono::milliseconds(2000), 0, 1232});
  auto answer = resolver.query("dev.example.net", rr_type::tlsa);
  responder.join();
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_FALSE(answer->over_tcp);
  auto parsed = parse_answer(answer->wire, "dev.example.net", rr_type::tlsa);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->records.size(), 1u);
}

TEST(StubResolver, AsksAnIpv6Resolver) {
  std::unique_ptr<udp_server> bound;
  try {
    bound = std::make_unique<udp_server>(AF_INET6);
  } catch (const std::runtime_error&) {
    GTEST_SKIP() << "no IPv6 loopback on this machine";
  }
  const udp_server& server = *bound;
  std::thread responder = answer_once(server);
  stub_resolver resolver(
      {*parse_server_address("[::1]:" + std::to_string(server.port())), std::chrono::milliseconds(2000), 0, 1232});
  auto answer = resolver.query("dev.example.net", rr_type::tlsa);
  responder.join();
  ASSERT_TRUE(answer) << answer.error().message();
  auto parsed = parse_answer(answer->wire, "dev.example.net", rr_type::tlsa);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->records.size(), 1u);
}

TEST(StubResolver, ReportsANetworkErrorWhenNothingListensOverTcp) {
  const auto port = test::free_port();
  stub_resolver resolver({{"127.0.0.1", port}, std::chrono::milliseconds(500), 1, 1232});
  auto message = make_query("dev.example.net", rr_type::tlsa, 7, {});
  ASSERT_TRUE(message);
  auto answer = resolver.exchange(*message, 7, true);
  ASSERT_TRUE(failed_with(answer, errc::network_error));
  EXPECT_NE(answer.error().detail.find("127.0.0.1"), std::string::npos);
}

TEST(StubResolver, DrawsRandomQueryIds) {
  std::set<std::uint16_t> ids;
  for (int i = 0; i < 32; ++i) ids.insert(random_query_id());
  EXPECT_GT(ids.size(), 24u);
}

}  // namespace
}  // namespace danemq::dane
