#include "danemq/dane/dns_message.hpp"

#include <gtest/gtest.h>

#include "unit/dane/dns_packets.hpp"

namespace danemq::dane {
namespace {

using testing::make_response;
using testing::response_spec;

constexpr const char* hash = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";

bool failed_with(const auto& r, errc code) {
  return !r && r.error().code == make_error_code(code);
}

TEST(DnsQuery, CarriesTheQuestionIdAndFlags) {
  auto wire = make_query("dev._device.example.net", rr_type::tlsa, 0x1234, query_flags{true, true, 1400});
  ASSERT_TRUE(wire);
  ldns_pkt* raw = nullptr;
  ASSERT_EQ(ldns_wire2pkt(&raw, wire->data(), wire->size()), LDNS_STATUS_OK);
  ldns::unique_pkt pkt(raw);
  EXPECT_EQ(ldns_pkt_id(pkt.get()), 0x1234);
  EXPECT_TRUE(ldns_pkt_rd(pkt.get()));
  EXPECT_TRUE(ldns_pkt_cd(pkt.get()));
  EXPECT_TRUE(ldns_pkt_edns_do(pkt.get()));
  EXPECT_EQ(ldns_pkt_edns_udp_size(pkt.get()), 1400);
  const ldns_rr* q = ldns_rr_list_rr(ldns_pkt_question(pkt.get()), 0);
  EXPECT_EQ(ldns::name_text(ldns_rr_owner(q)), "dev._device.example.net");
  EXPECT_EQ(ldns_rr_get_type(q), LDNS_RR_TYPE_TLSA);
}

TEST(DnsQuery, RefusesAnInvalidName) {
  EXPECT_TRUE(failed_with(make_query(std::string(300, 'a'), rr_type::tlsa, 1, {}), errc::bad_name));
}

TEST(DnsAnswer, ReadsTlsaRecordsTtlAndFlags) {
  auto wire = make_response({.name = "dev.example.net",
                             .authenticated_data = true,
                             .answer = {std::string("dev.example.net. 600 IN TLSA 3 1 1 ") + hash,
                                        "dev.example.net. 300 IN TLSA 3 1 2 " + std::string(128, 'a')}});
  auto answer = parse_answer(wire, "dev.example.net", rr_type::tlsa);
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_TRUE(answer->authenticated_data);
  EXPECT_FALSE(answer->truncated);
  ASSERT_EQ(answer->records.size(), 2u);
  EXPECT_EQ(answer->records[0].size(), 3u + 32u);
  EXPECT_EQ(answer->records[0][0], 3);
  EXPECT_EQ(answer->ttl, 300u);
  EXPECT_EQ(answer->final_name, "dev.example.net");
  EXPECT_FALSE(answer->records_signed);
  EXPECT_TRUE(answer_status(*answer));
}

TEST(DnsAnswer, MatchesTheQuestionCaseInsensitively) {
  auto wire =
      make_response({.name = "DEV.Example.NET", .answer = {std::string("dev.example.net. 60 IN TLSA 3 1 1 ") + hash}});
  auto answer = parse_answer(wire, "dev.example.net", rr_type::tlsa);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->records.size(), 1u);
}

TEST(DnsAnswer, RefusesAnAnswerToAnotherQuestion) {
  auto wire = make_response({.name = "other.example.net"});
  EXPECT_TRUE(failed_with(parse_answer(wire, "dev.example.net", rr_type::tlsa), errc::malformed_answer));
  auto wrong_type = make_response({.name = "dev.example.net", .type = rr_type::a});
  EXPECT_TRUE(failed_with(parse_answer(wrong_type, "dev.example.net", rr_type::tlsa), errc::malformed_answer));
}

TEST(DnsAnswer, RefusesQueriesAndGarbage) {
  auto query = make_response({.name = "dev.example.net", .is_response = false});
  EXPECT_TRUE(failed_with(parse_answer(query, "dev.example.net", rr_type::tlsa), errc::malformed_answer));
  const crypto::bytes garbage{1, 2, 3, 4, 5};
  EXPECT_TRUE(failed_with(parse_answer(garbage, "dev.example.net", rr_type::tlsa), errc::malformed_answer));
}

TEST(DnsAnswer, FollowsACnameChainAndIgnoresRecordsElsewhere) {
  auto wire = make_response(
      {.name = "alias.example.net",
       .answer = {"alias.example.net. 100 IN CNAME mid.example.org.", "mid.example.org. 50 IN CNAME dev.example.com.",
                  std::string("dev.example.com. 900 IN TLSA 3 1 1 ") + hash,
                  std::string("alias.example.net. 900 IN TLSA 3 1 1 ") + hash}});
  auto answer = parse_answer(wire, "alias.example.net", rr_type::tlsa);
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->cnames.size(), 2u);
  EXPECT_EQ(answer->cnames[0].owner, "alias.example.net");
  EXPECT_EQ(answer->cnames[1].target, "dev.example.com");
  EXPECT_EQ(answer->final_name, "dev.example.com");
  EXPECT_EQ(answer->records.size(), 1u);
  EXPECT_EQ(answer->ttl, 50u);
}

TEST(DnsAnswer, RefusesACnameLoop) {
  auto wire = make_response(
      {.name = "a.example.net",
       .answer = {"a.example.net. 60 IN CNAME b.example.net.", "b.example.net. 60 IN CNAME a.example.net."}});
  EXPECT_TRUE(failed_with(parse_answer(wire, "a.example.net", rr_type::tlsa), errc::malformed_answer));
}

TEST(DnsAnswer, NotesSignaturesOverTheRecords) {
  auto wire = make_response(
      {.name = "dev.example.net",
       .answer = {std::string("dev.example.net. 60 IN TLSA 3 1 1 ") + hash,
                  "dev.example.net. 60 IN RRSIG TLSA 13 3 60 20300101000000 20200101000000 12345 example.net. "
                  "bUO4YIz2XAqzEj3nSUyHAatqL/1MeEK3dfdv3y8xee8BKErLXyT5w0yFx4x5g5kKQ/VSxYlY0AVKNk7ntexEKQ=="}});
  auto answer = parse_answer(wire, "dev.example.net", rr_type::tlsa);
  ASSERT_TRUE(answer);
  EXPECT_TRUE(answer->records_signed);
}

TEST(DnsAnswerStatus, NamesNxdomainAndNodataWithTheNegativeTtl) {
  const std::string soa = "example.net. 3600 IN SOA ns.example.net. admin.example.net. 1 3600 600 86400 30";
  auto nx = parse_answer(make_response({.name = "dev.example.net", .rcode = rcode::nxdomain, .authority = {soa}}),
                         "dev.example.net", rr_type::tlsa);
  ASSERT_TRUE(nx);
  EXPECT_TRUE(failed_with(answer_status(*nx), errc::nxdomain));
  EXPECT_EQ(nx->negative_ttl, 30u);
  auto nodata =
      parse_answer(make_response({.name = "dev.example.net", .authority = {soa}}), "dev.example.net", rr_type::tlsa);
  ASSERT_TRUE(nodata);
  EXPECT_TRUE(failed_with(answer_status(*nodata), errc::nodata));
}

TEST(DnsAnswerStatus, TellsServfailFromRefusedAndBogus) {
  auto servfail = parse_answer(make_response({.name = "dev.example.net", .rcode = rcode::servfail}), "dev.example.net",
                               rr_type::tlsa);
  ASSERT_TRUE(servfail);
  EXPECT_TRUE(failed_with(answer_status(*servfail), errc::servfail));
  auto refused = parse_answer(make_response({.name = "dev.example.net", .rcode = rcode::refused}), "dev.example.net",
                              rr_type::tlsa);
  ASSERT_TRUE(refused);
  auto refused_status = answer_status(*refused);
  ASSERT_TRUE(failed_with(refused_status, errc::servfail));
  EXPECT_NE(refused_status.error().detail.find("REFUSED"), std::string::npos);
  auto bogus =
      parse_answer(make_response({.name = "dev.example.net",
                                  .rcode = rcode::servfail,
                                  .extended_error = std::make_pair(std::uint16_t{6}, "signature crypto failed")}),
                   "dev.example.net", rr_type::tlsa);
  ASSERT_TRUE(bogus);
  EXPECT_EQ(bogus->extended_error, 6);
  EXPECT_EQ(bogus->extended_error_text, "signature crypto failed");
  auto bogus_status = answer_status(*bogus);
  ASSERT_TRUE(failed_with(bogus_status, errc::bogus));
  EXPECT_NE(bogus_status.error().detail.find("signature crypto failed"), std::string::npos);
}

TEST(DnsAnswer, ReportsTruncation) {
  auto answer =
      parse_answer(make_response({.name = "dev.example.net", .truncated = true}), "dev.example.net", rr_type::tlsa);
  ASSERT_TRUE(answer);
  EXPECT_TRUE(answer->truncated);
}

TEST(DnsAnswer, NamesResponseCodes) {
  EXPECT_EQ(rcode_name(0), "NOERROR");
  EXPECT_EQ(rcode_name(9), "NOTAUTH");
  EXPECT_EQ(rcode_name(23), "RCODE 23");
}

}  // namespace
}  // namespace danemq::dane
