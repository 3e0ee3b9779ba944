#include "danemq/dane/resolver.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

namespace danemq::dane {
namespace {

using steady = std::chrono::steady_clock;
constexpr std::size_t max_message = 65535;
constexpr std::size_t header_size = 12;

/// A socket descriptor closed on scope exit.
class socket_fd {
 public:
  explicit socket_fd(int fd) : fd_(fd) {}
  ~socket_fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  socket_fd(const socket_fd&) = delete;
  socket_fd& operator=(const socket_fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }

 private:
  int fd_;
};

struct socket_address {
  sockaddr_storage storage{};
  socklen_t length{0};
  int family{AF_UNSPEC};
};

std::optional<socket_address> to_socket_address(const server_address& server) {
  socket_address out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET, server.ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(server.port);
    out.length = sizeof(sockaddr_in);
    out.family = AF_INET;
    return out;
  }
  if (inet_pton(AF_INET6, server.ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(server.port);
    out.length = sizeof(sockaddr_in6);
    out.family = AF_INET6;
    return out;
  }
  return std::nullopt;
}

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

int remaining_ms(steady::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - steady::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

/// Waits until `fd` is ready for `events` or the deadline passes.
bool wait_ready(int fd, short events, steady::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int left = remaining_ms(deadline);
    if (left == 0) return false;
    const int n = ::poll(&p, 1, left);
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

bool is_answer_to(std::span<const std::uint8_t> message, std::uint16_t id) {
  return message.size() >= header_size && message[0] == (id >> 8) && message[1] == (id & 0xff) &&
         (message[2] & 0x80) != 0;
}

bool truncated(std::span<const std::uint8_t> message) {
  return message.size() >= header_size && (message[2] & 0x02) != 0;
}

/// Outcome of one attempt: an answer, a timeout, or a socket error.
struct attempt {
  std::optional<crypto::bytes> answer;
  std::optional<failure> error;
};

attempt udp_attempt(const socket_address& to, std::span<const std::uint8_t> message, std::uint16_t id,
                    steady::time_point deadline) {
  socket_fd fd(::socket(to.family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return {std::nullopt, fail(errc::network_error, errno_text("socket"))};
  // A connected UDP socket only receives datagrams from the server's address.
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to.storage), to.length) != 0) {
    return {std::nullopt, fail(errc::network_error, errno_text("connect"))};
  }
  if (::send(fd.get(), message.data(), message.size(), 0) != static_cast<ssize_t>(message.size())) {
    return {std::nullopt, fail(errc::network_error, errno_text("send"))};
  }
  crypto::bytes buffer(max_message);
  while (wait_ready(fd.get(), POLLIN, deadline)) {
    const ssize_t n = ::recv(fd.get(), buffer.data(), buffer.size(), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return {std::nullopt, fail(errc::network_error, errno_text("recv"))};
    }
    const std::span<const std::uint8_t> received(buffer.data(), static_cast<std::size_t>(n));
    if (!is_answer_to(received, id)) continue;  // stray or spoofed datagram: keep waiting
    buffer.resize(static_cast<std::size_t>(n));
    return {std::move(buffer), std::nullopt};
  }
  return {};
}

bool write_all(int fd, std::span<const std::uint8_t> data, steady::time_point deadline) {
  std::size_t done = 0;
  while (done < data.size()) {
    if (!wait_ready(fd, POLLOUT, deadline)) return false;
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

/// 1: read all, 0: deadline, -1: error or closed early.
int read_all(int fd, std::span<std::uint8_t> data, steady::time_point deadline) {
  std::size_t done = 0;
  while (done < data.size()) {
    if (!wait_ready(fd, POLLIN, deadline)) return 0;
    const ssize_t n = ::recv(fd, data.data() + done, data.size() - done, 0);
    if (n == 0) return -1;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return -1;
    }
    done += static_cast<std::size_t>(n);
  }
  return 1;
}

attempt tcp_attempt(const socket_address& to, std::span<const std::uint8_t> message, std::uint16_t id,
                    steady::time_point deadline) {
  if (message.size() > max_message) return {std::nullopt, fail(errc::network_error, "message too large")};
  socket_fd fd(::socket(to.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return {std::nullopt, fail(errc::network_error, errno_text("socket"))};
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to.storage), to.length) != 0) {
    if (errno != EINPROGRESS) return {std::nullopt, fail(errc::network_error, errno_text("TCP connect"))};
    if (!wait_ready(fd.get(), POLLOUT, deadline)) return {};
    int error = 0;
    socklen_t length = sizeof(error);
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
      errno = error;
      return {std::nullopt, fail(errc::network_error, errno_text("TCP connect"))};
    }
  }
  crypto::bytes framed{static_cast<std::uint8_t>(message.size() >> 8),
                       static_cast<std::uint8_t>(message.size() & 0xff)};
  framed.insert(framed.end(), message.begin(), message.end());
  if (!write_all(fd.get(), framed, deadline)) {
    if (steady::now() >= deadline) return {};
    return {std::nullopt, fail(errc::network_error, errno_text("TCP send"))};
  }
  std::uint8_t length_prefix[2];
  int got = read_all(fd.get(), length_prefix, deadline);
  if (got == 0) return {};
  if (got < 0) return {std::nullopt, fail(errc::network_error, "TCP connection closed before the answer")};
  crypto::bytes answer(static_cast<std::size_t>((length_prefix[0] << 8) | length_prefix[1]));
  got = read_all(fd.get(), answer, deadline);
  if (got == 0) return {};
  if (got < 0) return {std::nullopt, fail(errc::network_error, "TCP connection closed inside the answer")};
  if (!is_answer_to(answer, id)) return {std::nullopt, fail(errc::malformed_answer, "TCP answer with another ID")};
  return {std::move(answer), std::nullopt};
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

result<std::uint16_t> parse_port(std::string_view text, std::string_view whole) {
  if (text.empty() || text.size() > 5)
    return fail(errc::bad_configuration, "bad port in \"" + std::string(whole) + "\"");
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return fail(errc::bad_configuration, "bad port in \"" + std::string(whole) + "\"");
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535)
    return fail(errc::bad_configuration, "port out of range in \"" + std::string(whole) + "\"");
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string server_address::to_string() const {
  if (ip.find(':') != std::string::npos) return "[" + ip + "]:" + std::to_string(port);
  return ip + ":" + std::to_string(port);
}

result<server_address> parse_server_address(std::string_view text) {
  const std::string_view whole = text;
  text = trim(text);
  if (text.empty()) return fail(errc::bad_configuration, "empty server address");
  server_address out;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos)
      return fail(errc::bad_configuration, "missing ']' in \"" + std::string(whole) + "\"");
    out.ip = std::string(text.substr(1, close - 1));
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return fail(errc::bad_configuration, "expected ':port' after ']' in \"" + std::string(whole) + "\"");
      auto port = parse_port(rest.substr(1), whole);
      if (!port) return port.error();
      out.port = *port;
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, out.ip.c_str(), &v6) != 1) {
      return fail(errc::bad_configuration, "not an IPv6 address: \"" + out.ip + "\"");
    }
    return out;
  }
  const auto colons = std::count(text.begin(), text.end(), ':');
  if (colons > 1) {  // a bare IPv6 address, no port
    out.ip = std::string(text);
    in6_addr v6{};
    if (inet_pton(AF_INET6, out.ip.c_str(), &v6) != 1) {
      return fail(errc::bad_configuration, "not an IP address: \"" + std::string(whole) + "\"");
    }
    return out;
  }
  const auto colon = text.find(':');
  out.ip = std::string(text.substr(0, colon));
  if (colon != std::string_view::npos) {
    auto port = parse_port(text.substr(colon + 1), whole);
    if (!port) return port.error();
    out.port = *port;
  }
  in_addr v4{};
  if (inet_pton(AF_INET, out.ip.c_str(), &v4) != 1) {
    return fail(errc::bad_configuration, "not a numeric IP address: \"" + std::string(whole) + "\"");
  }
  return out;
}

result<server_address> system_resolver(const std::filesystem::path& resolv_conf) {
  std::ifstream in(resolv_conf);
  if (!in) return fail(errc::bad_configuration, "cannot read " + resolv_conf.string());
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string keyword;
    std::string value;
    if (!(fields >> keyword >> value) || keyword != "nameserver") continue;
    // A scoped link-local address (fe80::1%eth0) cannot be used without its interface.
    if (value.find('%') != std::string::npos) continue;
    auto server = parse_server_address(value.find(':') != std::string::npos ? "[" + value + "]" : value);
    if (server) return server;
  }
  return fail(errc::bad_configuration, "no usable nameserver in " + resolv_conf.string());
}

bool is_loopback(const server_address& server) {
  in_addr v4{};
  if (inet_pton(AF_INET, server.ip.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, server.ip.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

std::uint16_t random_query_id() {
  std::uint8_t bytes[2];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("OpenSSL random generator failed");
  return static_cast<std::uint16_t>((bytes[0] << 8) | bytes[1]);
}

stub_resolver::stub_resolver(resolver_options options) : options_(std::move(options)) {}

result<raw_answer> stub_resolver::query(std::string_view name, std::uint16_t type, const query_flags& flags) const {
  query_flags effective = flags;
  effective.edns_buffer_size = options_.edns_buffer_size;
  const std::uint16_t id = random_query_id();
  auto message = make_query(name, type, id, effective);
  if (!message) return message.error();
  return exchange(*message, id, false);
}

result<raw_answer> stub_resolver::exchange(std::span<const std::uint8_t> message, std::uint16_t id,
                                           bool tcp_only) const {
  const auto address = to_socket_address(options_.server);
  if (!address) return fail(errc::bad_configuration, "not a numeric IP address: " + options_.server.ip);
  std::optional<failure> last_error;
  for (unsigned attempt_number = 0; attempt_number <= options_.retries; ++attempt_number) {
    const auto deadline = steady::now() + options_.timeout;
    bool over_tcp = tcp_only;
    ++messages_sent_;
    attempt outcome =
        tcp_only ? tcp_attempt(*address, message, id, deadline) : udp_attempt(*address, message, id, deadline);
    if (outcome.answer && !tcp_only && truncated(*outcome.answer)) {
      // RFC 7766: a truncated UDP answer is asked again over TCP, with a fresh deadline.
      over_tcp = true;
      ++messages_sent_;
      outcome = tcp_attempt(*address, message, id, steady::now() + options_.timeout);
    }
    if (outcome.answer) return raw_answer{std::move(*outcome.answer), over_tcp};
    if (outcome.error) last_error = std::move(outcome.error);
  }
  if (last_error) {
    last_error->detail += " (" + options_.server.to_string() + ")";
    return *last_error;
  }
  return fail(errc::timeout, "no answer from " + options_.server.to_string() + " after " +
                                 std::to_string(options_.retries + 1) + " attempts of " +
                                 std::to_string(options_.timeout.count()) + " ms");
}

}  // namespace danemq::dane
