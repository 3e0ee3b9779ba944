#include "danemq/dane/pkix_cd.hpp"

#include <algorithm>
#include <array>

#include <arpa/inet.h>
#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <ctime>

#include "danemq/dane/dns_message.hpp"
#include "danemq/dane/trust.hpp"

namespace danemq::dane {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

crypto::bytes octets_of(const ASN1_OCTET_STRING* text) {
  const auto* data = ASN1_STRING_get0_data(text);
  return {data, data + ASN1_STRING_length(text)};
}

std::string url_of(std::string_view authority, std::uint16_t port, std::string_view key_id) {
  std::string url = "https://" + std::string(authority);
  if (port != 443) url += ":" + std::to_string(port);
  return url + ca_certificate_path(key_id);
}

/// Addresses of `host`: A records, else AAAA, through our resolver.
result<std::vector<tcp::endpoint>> resolve(const stub_resolver& resolver, std::string_view host, std::uint16_t port) {
  std::vector<tcp::endpoint> endpoints;
  failure last = fail(errc::nodata, std::string(host));
  for (const std::uint16_t type : {rr_type::a, rr_type::aaaa}) {
    auto raw = resolver.query(host, type, query_flags{false, false, resolver.options().edns_buffer_size});
    if (!raw) return raw.error();
    auto answer = parse_answer(raw->wire, host, type);
    if (!answer) return answer.error();
    if (auto status = answer_status(*answer); !status) {
      last = status.error();
      if (status.error().code == make_error_code(errc::nodata)) continue;
      return last;
    }
    for (const auto& rdata : answer->records) {
      if (type == rr_type::a && rdata.size() == 4) {
        asio::ip::address_v4::bytes_type bytes{};
        std::copy(rdata.begin(), rdata.end(), bytes.begin());
        endpoints.emplace_back(asio::ip::address_v4(bytes), port);
      } else if (type == rr_type::aaaa && rdata.size() == 16) {
        asio::ip::address_v6::bytes_type bytes{};
        std::copy(rdata.begin(), rdata.end(), bytes.begin());
        endpoints.emplace_back(asio::ip::address_v6(bytes), port);
      }
    }
    if (!endpoints.empty()) return endpoints;
  }
  return last;
}

/// One HTTPS GET with a deadline over the whole exchange (Beast's tcp_stream
/// timeout covers connect, handshake, write and read).
class https_get {
 public:
  https_get(asio::io_context& io, asio::ssl::context& tls, std::string host, std::string target,
            std::chrono::milliseconds timeout, std::size_t max_body)
      : stream_(io, tls), host_(std::move(host)), target_(std::move(target)), timeout_(timeout) {
    parser_.body_limit(max_body);
  }

  /// Runs the exchange to its end; the body, or the error.
  result<std::string> run(asio::io_context& io, const std::vector<tcp::endpoint>& endpoints) {
    if (SSL_set_tlsext_host_name(stream_.native_handle(), host_.c_str()) != 1 ||
        SSL_set1_host(stream_.native_handle(), host_.c_str()) != 1) {
      return fail(errc::pkix_failed, "cannot set TLS host name " + host_);
    }
    beast::get_lowest_layer(stream_).expires_after(timeout_);
    beast::get_lowest_layer(stream_).async_connect(endpoints, [this](beast::error_code ec, const tcp::endpoint&) {
      if (ec) return finish(ec, "connect");
      stream_.async_handshake(asio::ssl::stream_base::client, [this](beast::error_code ec2) {
        if (ec2) return finish(ec2, "TLS handshake");
        request_ = {http::verb::get, target_, 11};
        request_.set(http::field::host, host_);
        request_.set(http::field::user_agent, "danemq");
        http::async_write(stream_, request_, [this](beast::error_code ec3, std::size_t) {
          if (ec3) return finish(ec3, "request");
          http::async_read(stream_, buffer_, parser_,
                           [this](beast::error_code ec4, std::size_t) { finish(ec4, "response"); });
        });
      });
    });
    io.run();
    if (error_) return *error_;
    const auto& response = parser_.get();
    if (response.result() != http::status::ok) {
      return fail(errc::pkix_failed, "HTTP status " + std::to_string(response.result_int()));
    }
    return response.body();
  }

 private:
  void finish(beast::error_code ec, const char* step) {
    if (ec) {
      std::string reason = ec.message();
      if (ec == beast::error::timeout) reason = "timed out";
      const long verify = SSL_get_verify_result(stream_.native_handle());
      if (std::string_view(step) == "TLS handshake" && verify != X509_V_OK) {
        reason += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
      }
      error_ = fail(errc::pkix_failed, std::string(step) + ": " + reason);
    }
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().close(ignored);
  }

  beast::ssl_stream<beast::tcp_stream> stream_;
  std::string host_;
  std::string target_;
  std::chrono::milliseconds timeout_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  http::response_parser<http::string_body> parser_;
  std::optional<failure> error_;
};

}  // namespace

result<std::string> authority_host(std::string_view identity_name) {
  std::vector<std::string_view> labels;
  std::size_t start = 0;
  while (start <= identity_name.size()) {
    const auto dot = identity_name.find('.', start);
    const auto end = dot == std::string_view::npos ? identity_name.size() : dot;
    if (end > start) labels.push_back(identity_name.substr(start, end - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  for (std::size_t i = labels.size(); i-- > 0;) {
    if (labels[i].front() != '_') continue;
    if (labels[i].size() == 1) break;
    std::string host(labels[i].substr(1));
    for (std::size_t j = i + 1; j < labels.size(); ++j) host += "." + std::string(labels[j]);
    return host;
  }
  return fail(errc::pkix_failed, "no underscore label in " + std::string(identity_name) + " to find its authority");
}

std::string key_id_text(std::span<const std::uint8_t> key_id) {
  const std::string hex = crypto::to_hex(key_id);
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    if (i > 0) out.push_back('-');
    out.append(hex, i, 2);
  }
  return out;
}

result<crypto::bytes> authority_key_id(const X509& certificate) {
  const ASN1_OCTET_STRING* id = X509_get0_authority_key_id(const_cast<X509*>(&certificate));
  if (id == nullptr) return fail(errc::pkix_failed, "the certificate has no AuthorityKeyIdentifier");
  return octets_of(id);
}

std::optional<crypto::bytes> subject_key_id(const X509& certificate) {
  const ASN1_OCTET_STRING* id = X509_get0_subject_key_id(const_cast<X509*>(&certificate));
  if (id == nullptr) return std::nullopt;
  return octets_of(id);
}

std::string ca_certificate_path(std::string_view key_id) {
  return "/.well-known/ca/" + std::string(key_id) + ".pem";
}

bool is_global_address(std::span<const std::uint8_t> address) {
  const auto in_v4 = [](std::span<const std::uint8_t> a, std::array<std::uint8_t, 4> net, unsigned bits) {
    for (unsigned i = 0; i < 4 && bits > 0; ++i, bits = bits > 8 ? bits - 8 : 0) {
      const unsigned mask = bits >= 8 ? 0xffU : (0xffU << (8 - bits)) & 0xffU;
      if ((a[i] & mask) != (net[i] & mask)) return false;
    }
    return true;
  };
  if (address.size() == 4) {
    struct block {
      std::array<std::uint8_t, 4> net;
      unsigned bits;
    };
    static constexpr std::array<block, 15> special{{
        {{0, 0, 0, 0}, 8},        // "this network"
        {{10, 0, 0, 0}, 8},       // private
        {{100, 64, 0, 0}, 10},    // shared (carrier-grade NAT)
        {{127, 0, 0, 0}, 8},      // loopback
        {{169, 254, 0, 0}, 16},   // link-local
        {{172, 16, 0, 0}, 12},    // private
        {{192, 0, 0, 0}, 24},     // IETF protocol assignments
        {{192, 0, 2, 0}, 24},     // documentation
        {{192, 88, 99, 0}, 24},   // 6to4 relay anycast (deprecated)
        {{192, 168, 0, 0}, 16},   // private
        {{198, 18, 0, 0}, 15},    // benchmarking
        {{198, 51, 100, 0}, 24},  // documentation
        {{203, 0, 113, 0}, 24},   // documentation
        {{224, 0, 0, 0}, 4},      // multicast
        {{240, 0, 0, 0}, 4},      // reserved, broadcast
    }};
    return std::none_of(special.begin(), special.end(), [&](const block& b) { return in_v4(address, b.net, b.bits); });
  }
  if (address.size() != 16) return false;
  const auto starts_with = [&](std::initializer_list<std::uint8_t> prefix) {
    return std::equal(prefix.begin(), prefix.end(), address.begin());
  };
  // IPv4-mapped (::ffff:a.b.c.d) and the NAT64 well-known prefix 64:ff9b::/96
  // reach the IPv4 address inside: judge that.
  if (starts_with({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}) ||
      starts_with({0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0})) {
    return is_global_address(address.subspan(12));
  }
  if (std::all_of(address.begin(), address.begin() + 15, [](std::uint8_t b) { return b == 0; })) {
    return false;  // :: and ::1
  }
  if (starts_with({0})) return false;                                     // ::/8 reserved (IPv4-compatible, ...)
  if ((address[0] & 0xfeU) == 0xfcU) return false;                        // fc00::/7 unique local
  if (address[0] == 0xfe && (address[1] & 0xc0U) == 0x80U) return false;  // fe80::/10 link-local
  if (address[0] == 0xfe && (address[1] & 0xc0U) == 0xc0U) return false;  // fec0::/10 site-local (deprecated)
  if (address[0] == 0xff) return false;                                   // multicast
  if (starts_with({0x20, 0x01, 0x0d, 0xb8})) return false;                // documentation
  if (starts_with({0x20, 0x01, 0x00, 0x02, 0x00, 0x00})) return false;    // benchmarking 2001:2::/48
  if (starts_with({0x01, 0x00, 0, 0, 0, 0, 0, 0})) return false;          // discard-only 100::/64
  return true;
}

https_ca_source::https_ca_source(https_ca_source_options options, std::shared_ptr<const stub_resolver> resolver)
    : options_(std::move(options)), resolver_(std::move(resolver)) {}

result<crypto::unique_x509> https_ca_source::fetch(std::string_view authority, std::string_view key_id,
                                                   std::chrono::steady_clock::time_point deadline) {
  const std::string url = url_of(authority, options_.port, key_id);
  const auto remaining = [deadline] {
    const auto now = std::chrono::steady_clock::now();
    if (deadline <= now) return std::chrono::milliseconds(0);
    return std::chrono::ceil<std::chrono::milliseconds>(
        std::min(deadline - now, std::chrono::steady_clock::duration(std::chrono::hours(1))));
  };
  if (remaining().count() <= 0) return fail(errc::pkix_failed, url + ": deadline passed before the fetch");
  // The authority's addresses are asked within what is left too: our
  // resolver's attempts shortened and fewer, so that all of them fit.
  auto resolver_options = resolver_->options();
  resolver_options.timeout = std::min(resolver_options.timeout, remaining());
  resolver_options.retries = static_cast<unsigned>(
      std::clamp<std::int64_t>(remaining() / resolver_options.timeout - 1, 0, resolver_options.retries));
  const stub_resolver bounded(resolver_options);
  auto endpoints = resolve(bounded, authority, options_.port);
  if (!endpoints)
    return fail(errc::pkix_failed,
                url + ": cannot resolve " + std::string(authority) + ": " + endpoints.error().message());
  if (!options_.allow_private_addresses) {
    const auto refused = std::partition(endpoints->begin(), endpoints->end(), [](const tcp::endpoint& endpoint) {
      const auto address = endpoint.address();
      if (address.is_v4()) return is_global_address(address.to_v4().to_bytes());
      return is_global_address(address.to_v6().to_bytes());
    });
    if (refused == endpoints->begin()) {
      return fail(errc::pkix_failed, url + ": " + std::string(authority) + " resolves only to non-global addresses (" +
                                         endpoints->front().address().to_string() +
                                         "); PKIX_CD_ALLOW_PRIVATE=1 allows them");
    }
    endpoints->erase(refused, endpoints->end());
  }

  asio::ssl::context tls(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
  beast::error_code ec;
  if (options_.trusted_cas.empty()) {
    tls.set_default_verify_paths(ec);
  } else {
    tls.load_verify_file(options_.trusted_cas.string(), ec);
  }
  if (ec) return fail(errc::bad_configuration, "HTTPS trust store: " + ec.message());
  tls.set_verify_mode(asio::ssl::verify_peer);

  asio::io_context io;
  const auto exchange_time = std::min(options_.timeout, remaining());
  if (exchange_time.count() <= 0) return fail(errc::pkix_failed, url + ": deadline passed before the connection");
  https_get get(io, tls, std::string(authority), ca_certificate_path(key_id), exchange_time, options_.max_body);
  auto body = get.run(io, *endpoints);
  if (!body) return fail(errc::pkix_failed, url + ": " + body.error().detail);
  auto cert = crypto::certificate_from_pem(*body);
  if (!cert) return fail(errc::pkix_failed, url + ": not a PEM certificate");
  return cert;
}

result<std::vector<crypto::unique_x509>> fetch_ca_chain(const X509& leaf, std::string_view identity_name,
                                                        ca_source& source, unsigned max_depth,
                                                        std::chrono::steady_clock::time_point deadline) {
  auto authority = authority_host(identity_name);
  if (!authority) return authority.error();
  std::vector<crypto::unique_x509> chain;
  const X509* current = &leaf;
  while (chain.size() < max_depth) {
    auto aki = authority_key_id(*current);
    if (!aki) return aki.error();
    const std::string id = key_id_text(*aki);
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(errc::pkix_failed, "the CA chain was not fetched in time (" + std::to_string(chain.size()) +
                                         " certificates fetched, key id " + id + " still missing)");
    }
    auto ca = source.fetch(*authority, id, deadline);
    if (!ca) return ca.error();
    const auto ski = subject_key_id(**ca);
    if (!ski || *ski != *aki) {
      return fail(errc::pkix_failed,
                  "the CA certificate served for key id " + id + " has another SubjectKeyIdentifier");
    }
    chain.push_back(std::move(ca).value());
    current = chain.back().get();
    if (X509_self_signed(chain.back().get(), 1) == 1) return chain;
  }
  return fail(errc::pkix_failed, "no self-signed root within " + std::to_string(max_depth) + " CA certificates");
}

result<void> verify_pkix_cd(const X509& leaf, std::string_view identity_name,
                            const std::vector<crypto::unique_x509>& chain, std::chrono::system_clock::time_point now) {
  if (chain.empty()) return fail(errc::pkix_failed, "no CA certificate");
  crypto::unique_x509_store store(X509_STORE_new());
  crypto::unique_x509_stack untrusted(sk_X509_new_null());
  crypto::unique_x509_store_ctx context(X509_STORE_CTX_new());
  if (!store || !untrusted || !context) throw std::bad_alloc();
  if (X509_STORE_add_cert(store.get(), chain.back().get()) != 1) return crypto::openssl_failure("X509_STORE_add_cert");
  for (std::size_t i = 0; i + 1 < chain.size(); ++i) {
    crypto::unique_x509 copy(X509_dup(chain[i].get()));
    if (!copy || sk_X509_push(untrusted.get(), copy.get()) == 0) throw std::bad_alloc();
    (void)copy.release();
  }
  if (X509_STORE_CTX_init(context.get(), store.get(), const_cast<X509*>(&leaf), untrusted.get()) != 1) {
    return crypto::openssl_failure("X509_STORE_CTX_init");
  }
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(context.get()), std::chrono::system_clock::to_time_t(now));
  if (X509_verify_cert(context.get()) != 1) {
    return fail(errc::pkix_failed, std::string("chain to the authority's CA: ") +
                                       X509_verify_cert_error_string(X509_STORE_CTX_get_error(context.get())));
  }
  return check_name_and_dates(leaf, identity_name, now);
}

}  // namespace danemq::dane
