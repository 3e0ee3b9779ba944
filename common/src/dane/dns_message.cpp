#include "danemq/dane/dns_message.hpp"

#include <set>

#include "ldns_handles.hpp"

namespace danemq::dane {
namespace {

constexpr std::size_t max_cname_links = 8;
constexpr std::uint16_t edns_option_extended_error = 15;  // RFC 8914

bool same_name(const ldns_rdf* a, const ldns_rdf* b) {
  return ldns_dname_compare(a, b) == 0;
}

std::uint32_t rrsig_covered_type(const ldns_rr* rrsig) {
  const ldns_rdf* covered = ldns_rr_rrsig_typecovered(rrsig);
  return covered != nullptr ? ldns_rdf2rr_type(covered) : 0;
}

bool has_rrsig_for(const ldns_rr_list* section, const ldns_rdf* owner, std::uint16_t type) {
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(section); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(section, i);
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG && same_name(ldns_rr_owner(rr), owner) &&
        rrsig_covered_type(rr) == type) {
      return true;
    }
  }
  return false;
}

/// Reads the RFC 8914 option out of the raw EDNS option bytes.
void read_extended_error(const ldns_pkt* pkt, dns_answer& answer) {
  const ldns_rdf* options = ldns_pkt_edns_data(pkt);
  if (options == nullptr) return;
  const std::uint8_t* data = ldns_rdf_data(options);
  const std::size_t size = ldns_rdf_size(options);
  std::size_t pos = 0;
  while (pos + 4 <= size) {
    const auto code = static_cast<std::uint16_t>((data[pos] << 8) | data[pos + 1]);
    const auto length = static_cast<std::size_t>((data[pos + 2] << 8) | data[pos + 3]);
    pos += 4;
    if (pos + length > size) return;
    if (code == edns_option_extended_error && length >= 2) {
      answer.extended_error = static_cast<std::uint16_t>((data[pos] << 8) | data[pos + 1]);
      answer.extended_error_text.assign(reinterpret_cast<const char*>(data + pos + 2), length - 2);
      // Only printable ASCII goes into logs and reports.
      for (char& c : answer.extended_error_text) {
        if (c < 0x20 || c > 0x7e) c = '?';
      }
      return;
    }
    pos += length;
  }
}

void read_negative_ttl(const ldns_pkt* pkt, dns_answer& answer) {
  const ldns_rr_list* authority = ldns_pkt_authority(pkt);
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(authority); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(authority, i);
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) < 7) continue;
    const ldns_rdf* minimum = ldns_rr_rdf(rr, 6);
    if (minimum == nullptr || ldns_rdf_size(minimum) != 4) continue;
    answer.negative_ttl = std::min(ldns_rr_ttl(rr), ldns_rdf2native_int32(minimum));
    return;
  }
}

}  // namespace

result<crypto::bytes> make_query(std::string_view name, std::uint16_t type, std::uint16_t id,
                                 const query_flags& flags) {
  ldns::unique_rdf owner = ldns::make_name(name);
  if (!owner) return fail(errc::bad_name, "not a domain name: " + std::string(name));
  ldns::unique_pkt query(
      ldns_pkt_query_new(owner.release(), static_cast<ldns_rr_type>(type), LDNS_RR_CLASS_IN, LDNS_RD));
  if (!query) throw std::bad_alloc();
  ldns_pkt_set_id(query.get(), id);
  ldns_pkt_set_edns_udp_size(query.get(), flags.edns_buffer_size);
  ldns_pkt_set_edns_do(query.get(), flags.dnssec_ok);
  ldns_pkt_set_cd(query.get(), flags.checking_disabled);
  std::uint8_t* wire = nullptr;
  std::size_t size = 0;
  const ldns_status status = ldns_pkt2wire(&wire, query.get(), &size);
  ldns::unique_malloced<std::uint8_t> owned(wire);
  if (status != LDNS_STATUS_OK) return fail(errc::bad_name, "cannot encode query: " + ldns::status_text(status));
  return crypto::bytes(wire, wire + size);
}

result<dns_answer> parse_answer(std::span<const std::uint8_t> wire, std::string_view name, std::uint16_t type) {
  ldns_pkt* raw = nullptr;
  const ldns_status status = ldns_wire2pkt(&raw, wire.data(), wire.size());
  ldns::unique_pkt pkt(raw);
  if (status != LDNS_STATUS_OK || !pkt) {
    return fail(errc::malformed_answer, "unparseable DNS message: " + ldns::status_text(status));
  }
  if (!ldns_pkt_qr(pkt.get())) return fail(errc::malformed_answer, "message is a query, not a response");
  if (ldns_pkt_get_opcode(pkt.get()) != LDNS_PACKET_QUERY) {
    return fail(errc::malformed_answer, "response is not to a standard query");
  }
  ldns::unique_rdf asked = ldns::make_name(name);
  if (!asked) return fail(errc::bad_name, "not a domain name: " + std::string(name));
  const ldns_rr_list* question = ldns_pkt_question(pkt.get());
  if (ldns_rr_list_rr_count(question) != 1) return fail(errc::malformed_answer, "response has no single question");
  const ldns_rr* q = ldns_rr_list_rr(question, 0);
  if (!same_name(ldns_rr_owner(q), asked.get()) || ldns_rr_get_type(q) != type ||
      ldns_rr_get_class(q) != LDNS_RR_CLASS_IN) {
    return fail(errc::malformed_answer, "response answers another question");
  }

  dns_answer answer;
  answer.id = ldns_pkt_id(pkt.get());
  answer.rcode = static_cast<std::uint8_t>(ldns_pkt_get_rcode(pkt.get()));
  answer.authenticated_data = ldns_pkt_ad(pkt.get());
  answer.truncated = ldns_pkt_tc(pkt.get());
  read_extended_error(pkt.get(), answer);
  read_negative_ttl(pkt.get(), answer);

  const ldns_rr_list* section = ldns_pkt_answer(pkt.get());
  std::optional<std::uint32_t> smallest_ttl;
  auto note_ttl = [&smallest_ttl](std::uint32_t ttl) { smallest_ttl = std::min(smallest_ttl.value_or(ttl), ttl); };

  // Follow the CNAME chain from the question's name through the answer section.
  ldns::unique_rdf current(ldns_rdf_clone(asked.get()));
  std::set<std::string> seen{ldns::name_text(current.get())};
  while (type != rr_type::cname) {
    const ldns_rr* link = nullptr;
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(section); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(section, i);
      if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && same_name(ldns_rr_owner(rr), current.get())) {
        if (link != nullptr) return fail(errc::malformed_answer, "two CNAMEs at " + ldns::name_text(current.get()));
        link = rr;
      }
    }
    if (link == nullptr) break;
    if (answer.cnames.size() == max_cname_links) {
      return fail(errc::malformed_answer, "CNAME chain longer than " + std::to_string(max_cname_links));
    }
    const ldns_rdf* target = ldns_rr_rd_count(link) == 1 ? ldns_rr_rdf(link, 0) : nullptr;
    if (target == nullptr || ldns_rdf_get_type(target) != LDNS_RDF_TYPE_DNAME) {
      return fail(errc::malformed_answer, "CNAME without a target");
    }
    cname_link step{ldns::name_text(current.get()), ldns::name_text(target), ldns_rr_ttl(link),
                    has_rrsig_for(section, current.get(), rr_type::cname)};
    note_ttl(step.ttl);
    if (!seen.insert(step.target).second) return fail(errc::malformed_answer, "CNAME loop at " + step.target);
    answer.cnames.push_back(std::move(step));
    current.reset(ldns_rdf_clone(target));
  }
  answer.final_name = ldns::name_text(current.get());

  for (std::size_t i = 0; i < ldns_rr_list_rr_count(section); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(section, i);
    if (ldns_rr_get_type(rr) != type || !same_name(ldns_rr_owner(rr), current.get())) continue;
    if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) continue;
    answer.records.push_back(ldns::rdata_wire(rr));
    note_ttl(ldns_rr_ttl(rr));
  }
  answer.records_signed = !answer.records.empty() && has_rrsig_for(section, current.get(), type);
  answer.ttl = smallest_ttl.value_or(0);
  return answer;
}

result<void> answer_status(const dns_answer& answer) {
  // RFC 8914: 1-2 and 5-12 are DNSSEC failures the resolver detected.
  const bool dnssec_error =
      answer.extended_error.has_value() && ((*answer.extended_error >= 1 && *answer.extended_error <= 2) ||
                                            (*answer.extended_error >= 5 && *answer.extended_error <= 12));
  std::string ede;
  if (answer.extended_error) {
    ede = " (extended error " + std::to_string(*answer.extended_error) +
          (answer.extended_error_text.empty() ? "" : ": " + answer.extended_error_text) + ")";
  }
  switch (answer.rcode) {
    case rcode::noerror: break;
    case rcode::nxdomain: return fail(errc::nxdomain, answer.final_name + ede);
    case rcode::servfail:
      if (dnssec_error) return fail(errc::bogus, "resolver reports a DNSSEC failure for " + answer.final_name + ede);
      return fail(errc::servfail, "SERVFAIL for " + answer.final_name + ede);
    default: return fail(errc::servfail, rcode_name(answer.rcode) + " for " + answer.final_name + ede);
  }
  if (answer.records.empty()) return fail(errc::nodata, answer.final_name);
  return ok();
}

std::string rcode_name(std::uint8_t code) {
  switch (code) {
    case 0: return "NOERROR";
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 3: return "NXDOMAIN";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
    case 6: return "YXDOMAIN";
    case 7: return "YXRRSET";
    case 8: return "NXRRSET";
    case 9: return "NOTAUTH";
    case 10: return "NOTZONE";
    default: return "RCODE " + std::to_string(code);
  }
}

}  // namespace danemq::dane
