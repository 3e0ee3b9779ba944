#include "danemq/dane/dns_update.hpp"

#include <openssl/evp.h>

#include "danemq/dane/dns_message.hpp"
#include "danemq/identity/dns_name.hpp"
#include "ldns_handles.hpp"

namespace danemq::dane {
namespace {

constexpr std::uint16_t tsig_fudge_seconds = 300;  // RFC 8945 section 5.2.3 recommendation

bool valid_base64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return false;
  std::string decoded(text.size(), '\0');
  return EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                         reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size())) > 0;
}

ldns::unique_pkt parse_packet(std::span<const std::uint8_t> wire) {
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, wire.data(), wire.size()) != LDNS_STATUS_OK) return nullptr;
  return ldns::unique_pkt(raw);
}

stub_resolver resolver_for(const update_target& target) {
  return stub_resolver(resolver_options{target.server, target.timeout, target.retries, 1232});
}

}  // namespace

result<tsig_key> parse_tsig_key(std::string_view text) {
  const auto first = text.find(':');
  const auto second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos) {
    return fail(errc::bad_configuration, "DNS_UPDATE_TSIG must be algorithm:keyname:base64secret");
  }
  tsig_key key;
  key.algorithm = std::string(text.substr(0, first));
  for (char& c : key.algorithm) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (!key.algorithm.empty() && key.algorithm.back() == '.') key.algorithm.pop_back();
  if (key.algorithm != "hmac-sha256" && key.algorithm != "hmac-sha384" && key.algorithm != "hmac-sha512") {
    return fail(errc::bad_configuration,
                "TSIG algorithm \"" + key.algorithm + "\" not accepted (hmac-sha256, hmac-sha384, hmac-sha512)");
  }
  auto name = identity::canonical_dns_name(text.substr(first + 1, second - first - 1));
  if (!name) return fail(errc::bad_configuration, "TSIG key name: " + name.error().detail);
  key.name = std::move(name).value();
  key.secret = std::string(text.substr(second + 1));
  if (!valid_base64(key.secret)) return fail(errc::bad_configuration, "TSIG secret is not base64");
  return key;
}

result<std::string> zone_of(const update_target& target, std::string_view name) {
  const stub_resolver resolver = resolver_for(target);
  auto raw = resolver.query(name, rr_type::soa, query_flags{false, false, 1232});
  if (!raw) return raw.error();
  auto pkt = parse_packet(raw->wire);
  if (!pkt) return fail(errc::malformed_answer, "SOA answer from " + target.server.to_string());
  const auto code = static_cast<std::uint8_t>(ldns_pkt_get_rcode(pkt.get()));
  if (code != rcode::noerror && code != rcode::nxdomain) {
    return fail(errc::update_failed, "the server answers " + rcode_name(code) + " for " + std::string(name) + " SOA");
  }
  for (const ldns_rr_list* section : {ldns_pkt_answer(pkt.get()), ldns_pkt_authority(pkt.get())}) {
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(section); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(section, i);
      if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) return ldns::name_text(ldns_rr_owner(rr));
    }
  }
  return fail(errc::update_failed, target.server.to_string() + " is not authoritative for " + std::string(name));
}

result<bool> zone_is_signed(const update_target& target, std::string_view zone) {
  const stub_resolver resolver = resolver_for(target);
  auto raw = resolver.query(zone, rr_type::dnskey, query_flags{true, false, 1232});
  if (!raw) return raw.error();
  auto pkt = parse_packet(raw->wire);
  if (!pkt) return fail(errc::malformed_answer, "DNSKEY answer from " + target.server.to_string());
  const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
    if (ldns_rr_get_type(ldns_rr_list_rr(answer, i)) == LDNS_RR_TYPE_DNSKEY) return true;
  }
  return false;
}

result<void> replace_tlsa_records(const update_target& target, std::string_view requested,
                                  const std::vector<identity::tlsa_record>& records, std::uint32_t ttl) {
  auto canonical = identity::canonical_dns_name(requested);
  if (!canonical) return fail(errc::bad_name, canonical.error().detail);
  const std::string& name = *canonical;
  auto zone = zone_of(target, name);
  if (!zone) return zone.error();

  ldns::unique_rr_list updates(ldns_rr_list_new());
  // RFC 2136 section 2.5.2: class ANY, TTL 0, no RDATA deletes the RRset.
  ldns::unique_rr delete_rrset(ldns_rr_new());
  ldns::unique_rdf owner = ldns::make_name(name);
  if (!updates || !delete_rrset || !owner) throw std::bad_alloc();
  ldns_rr_set_owner(delete_rrset.get(), owner.release());
  ldns_rr_set_type(delete_rrset.get(), LDNS_RR_TYPE_TLSA);
  ldns_rr_set_class(delete_rrset.get(), LDNS_RR_CLASS_ANY);
  ldns_rr_set_ttl(delete_rrset.get(), 0);
  ldns_rr_set_question(delete_rrset.get(), false);
  ldns_rr_list_push_rr(updates.get(), delete_rrset.release());
  for (const auto& record : records) {
    const std::string text = name + ". " + std::to_string(ttl) + " IN TLSA " + record.to_string();
    ldns_rr* raw = nullptr;
    const ldns_status status = ldns_rr_new_frm_str(&raw, text.c_str(), ttl, nullptr, nullptr);
    ldns::unique_rr rr(raw);
    if (status != LDNS_STATUS_OK) return fail(errc::bad_configuration, "TLSA record: " + ldns::status_text(status));
    ldns_rr_list_push_rr(updates.get(), rr.release());
  }

  ldns::unique_rdf zone_name = ldns::make_name(*zone);
  ldns::unique_pkt update(ldns_update_pkt_new(zone_name.release(), LDNS_RR_CLASS_IN, nullptr, updates.get(), nullptr));
  if (!update) throw std::bad_alloc();
  const std::uint16_t id = random_query_id();
  ldns_pkt_set_id(update.get(), id);
  const std::string key_name = target.key.name + ".";
  const std::string algorithm = target.key.algorithm + ".";
  if (const ldns_status status = ldns_pkt_tsig_sign(update.get(), key_name.c_str(), target.key.secret.c_str(),
                                                    tsig_fudge_seconds, algorithm.c_str(), nullptr);
      status != LDNS_STATUS_OK) {
    return fail(errc::bad_configuration, "cannot sign the update with TSIG: " + ldns::status_text(status));
  }
  std::uint8_t* wire = nullptr;
  std::size_t size = 0;
  const ldns_status encoded = ldns_pkt2wire(&wire, update.get(), &size);
  ldns::unique_malloced<std::uint8_t> owned(wire);
  if (encoded != LDNS_STATUS_OK)
    return fail(errc::update_failed, "cannot encode the update: " + ldns::status_text(encoded));

  const stub_resolver resolver = resolver_for(target);
  auto answer = resolver.exchange(std::span<const std::uint8_t>(wire, size), id, true);
  if (!answer) return answer.error();
  auto response = parse_packet(answer->wire);
  if (!response) return fail(errc::malformed_answer, "update answer from " + target.server.to_string());
  const auto code = static_cast<std::uint8_t>(ldns_pkt_get_rcode(response.get()));
  if (code != rcode::noerror) {
    return fail(errc::update_failed, target.server.to_string() + " refused the update of " + name + " in zone " +
                                         *zone + ": " + rcode_name(code));
  }
  const ldns_rr* query_tsig = ldns_pkt_tsig(update.get());
  const ldns_rdf* query_mac = query_tsig != nullptr ? ldns_rr_rdf(query_tsig, 3) : nullptr;
  if (!ldns_pkt_tsig_verify(response.get(), answer->wire.data(), answer->wire.size(), key_name.c_str(),
                            target.key.secret.c_str(), query_mac)) {
    return fail(errc::update_failed, "the answer to the update is not signed with the TSIG key");
  }
  return ok();
}

}  // namespace danemq::dane
