#pragma once
// Test-only builder of DNS responses in wire form, with ldns, so the parsers
// are tested on exactly the bytes a server would send.

#include <ldns/ldns.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dane/ldns_handles.hpp"
#include "danemq/crypto/openssl.hpp"

namespace danemq::dane::testing {

struct response_spec {
  std::string name{};
  std::uint16_t type{52};
  std::uint8_t rcode{0};
  bool authenticated_data{false};
  bool truncated{false};
  std::vector<std::string> answer{};  ///< records in zone-file form
  std::vector<std::string> authority{};
  std::optional<std::pair<std::uint16_t, std::string>> extended_error{};
  std::uint16_t id{4242};
  bool is_response{true};
};

inline ldns::unique_rr rr_from_text(const std::string& text) {
  ldns_rr* rr = nullptr;
  if (ldns_rr_new_frm_str(&rr, text.c_str(), 300, nullptr, nullptr) != LDNS_STATUS_OK) {
    throw std::runtime_error("bad test record: " + text);
  }
  return ldns::unique_rr(rr);
}

inline crypto::bytes make_response(const response_spec& spec) {
  ldns::unique_pkt pkt(ldns_pkt_query_new(ldns::make_name(spec.name).release(), static_cast<ldns_rr_type>(spec.type),
                                          LDNS_RR_CLASS_IN, LDNS_RD));
  ldns_pkt_set_id(pkt.get(), spec.id);
  ldns_pkt_set_qr(pkt.get(), spec.is_response);
  ldns_pkt_set_ra(pkt.get(), true);
  ldns_pkt_set_ad(pkt.get(), spec.authenticated_data);
  ldns_pkt_set_tc(pkt.get(), spec.truncated);
  ldns_pkt_set_rcode(pkt.get(), spec.rcode);
  for (const auto& text : spec.answer) ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_ANSWER, rr_from_text(text).release());
  for (const auto& text : spec.authority)
    ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_AUTHORITY, rr_from_text(text).release());
  ldns_pkt_set_edns_udp_size(pkt.get(), 1232);
  ldns_pkt_set_edns_do(pkt.get(), true);
  if (spec.extended_error) {
    const auto& [code, text] = *spec.extended_error;
    std::vector<std::uint8_t> option{0,
                                     15,
                                     static_cast<std::uint8_t>((text.size() + 2) >> 8),
                                     static_cast<std::uint8_t>((text.size() + 2) & 0xff),
                                     static_cast<std::uint8_t>(code >> 8),
                                     static_cast<std::uint8_t>(code & 0xff)};
    option.insert(option.end(), text.begin(), text.end());
    ldns_pkt_set_edns_data(pkt.get(), ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, option.size(), option.data()));
  }
  std::uint8_t* wire = nullptr;
  std::size_t size = 0;
  if (ldns_pkt2wire(&wire, pkt.get(), &size) != LDNS_STATUS_OK) throw std::runtime_error("cannot encode test packet");
  ldns::unique_malloced<std::uint8_t> owned(wire);
  return {wire, wire + size};
}

}  // namespace danemq::dane::testing
