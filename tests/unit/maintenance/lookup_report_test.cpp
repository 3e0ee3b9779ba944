#include "lookup_report.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "danemq/dane/errors.hpp"

namespace danemq::maintenance {
namespace {

TEST(LookupReport, ReportsAnInvalidNameWithoutAsking) {
  dane::discovery_config config;
  config.resolver = "127.0.0.1:9";
  config.dnssec = dane::dnssec_mode::resolver;
  auto source = dane::discovery::create(config);
  ASSERT_TRUE(source) << source.error().message();
  const auto report = report_lookup(**source, "bad..name");
  ASSERT_TRUE(report.lookup_error);
  EXPECT_EQ(report.lookup_error->code, make_error_code(dane::errc::bad_name));
  EXPECT_EQ((*source)->stats().dns_messages, 0u);
  const std::string text = format_report(report);
  EXPECT_EQ(text.substr(0, text.find("Lookup: ")),
            "Name: bad..name\n"
            "Resolver: 127.0.0.1:9 (DNSSEC_VALIDATION=resolver)\n");
}

TEST(LookupReport, PrintsEachRecordAndTheVerdict) {
  lookup_report report;
  report.name = "dev._device.example.net";
  report.resolver = "127.0.0.1:53";
  report.rcode = 0;
  report.authenticated_data = true;
  report.ttl = 300;
  report.dnssec = {dane::dnssec_status::secure, {}};
  record_report usable{identity::tlsa_record{3, 1, 1, crypto::bytes(32, 1)}, std::nullopt, true, {}, {}, {}, {}};
  record_report broken{identity::tlsa_record{3, 0, 0, crypto::bytes{1}},
                       fail(dane::errc::malformed_record, "not DER"),
                       false,
                       {},
                       {},
                       {},
                       {}};
  report.records = {usable, broken};
  report.verdict = fail(dane::errc::no_usable_record, "only hash records");
  const std::string text = format_report(report);
  EXPECT_EQ(text,
            "Name: dev._device.example.net\n"
            "Resolver: 127.0.0.1:53 (DNSSEC_VALIDATION=resolver)\n"
            "Answer: NOERROR, AD, over UDP, TTL 300\n"
            "DNSSEC: secure\n"
            "TLSA records: 2\n"
            "  [0] 3 1 1 (DANE-EE, 32 octets)\n"
            "      status: usable to confirm a presented certificate\n"
            "  [1] 3 0 0 (DANE-EE, 1 octets)\n"
            "      status: not usable: malformed TLSA record: not DER\n"
            "Verdict: refused: no usable TLSA record: only hash records\n");
  EXPECT_NE(text.find("Name: dev._device.example.net"), std::string::npos);
  EXPECT_NE(text.find("NOERROR, AD, over UDP, TTL 300"), std::string::npos);
  EXPECT_NE(text.find("DNSSEC: secure"), std::string::npos);
  EXPECT_NE(text.find("[0] 3 1 1 (DANE-EE, 32 octets)"), std::string::npos);
  EXPECT_NE(text.find("usable to confirm"), std::string::npos);
  EXPECT_NE(text.find("not usable: malformed TLSA record: not DER"), std::string::npos);
  EXPECT_NE(text.find("Verdict: refused: no usable TLSA record: only hash records"), std::string::npos);
}

TEST(LookupReport, AnUnreachableResolverIsItsOwnVerdictNeverTrusted) {
  lookup_report report;
  report.name = "dev._device.example.net";
  report.resolver = "127.0.0.1:9";
  report.lookup_error = fail(dane::errc::timeout, "no answer from 127.0.0.1:9");
  const std::string text = format_report(report);
  EXPECT_EQ(text.find("trusted"), std::string::npos) << text;
  EXPECT_NE(text.find("Verdict: resolver unreachable: "), std::string::npos) << text;
  EXPECT_EQ(verdict_of(report), verdict_kind::resolver_unreachable);

  report.lookup_error = fail(dane::errc::network_error, "connection refused");
  EXPECT_EQ(verdict_of(report), verdict_kind::resolver_unreachable);
  report.lookup_error = fail(dane::errc::nxdomain, "no such name");
  EXPECT_EQ(verdict_of(report), verdict_kind::refused);
  EXPECT_NE(format_report(report).find("Verdict: refused: "), std::string::npos);
}

TEST(LookupReport, GivesTheReportAsOneJsonObject) {
  lookup_report report;
  report.name = "dev._device.example.net";
  report.resolver = "127.0.0.1:53";
  report.dnssec = {dane::dnssec_status::secure, {}};
  report.records = {
      record_report{identity::tlsa_record{3, 1, 0, crypto::bytes{0xab}}, std::nullopt, false, {}, {}, {}, {}},
      record_report{identity::tlsa_record{3, 1, 1, crypto::bytes(32, 1)}, std::nullopt, true, {}, {}, {}, {}}};
  const auto text = report_json(report);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  const auto object = nlohmann::json::parse(text);
  EXPECT_EQ(object["verdict"], "trusted");
  EXPECT_TRUE(object["reason"].is_null());
  EXPECT_EQ(object["dnssec"]["status"], "secure");
  EXPECT_EQ(object["records"][0]["status"], "usable");
  EXPECT_EQ(object["records"][0]["data"], "ab");
  EXPECT_EQ(object["records"][1]["status"], "confirm_only");

  report.records.clear();
  report.lookup_error = fail(dane::errc::timeout, "no answer");
  const auto unreachable = nlohmann::json::parse(report_json(report));
  EXPECT_EQ(unreachable["verdict"], "resolver_unreachable");
  EXPECT_FALSE(unreachable.contains("answer"));
}

TEST(LookupReport, NoUsableRecordIsNeverTrustedEvenWithoutAVerdict) {
  lookup_report report;
  report.name = "dev._device.example.net";
  report.dnssec = {dane::dnssec_status::secure, {}};
  EXPECT_EQ(verdict_of(report), verdict_kind::refused);
  EXPECT_EQ(format_report(report).find("trusted"), std::string::npos);
  report.records = {
      record_report{identity::tlsa_record{3, 1, 1, crypto::bytes(32, 1)}, std::nullopt, true, {}, {}, {}, {}}};
  EXPECT_EQ(verdict_of(report), verdict_kind::refused);
  report.records.push_back(
      record_report{identity::tlsa_record{3, 1, 0, crypto::bytes(91, 1)}, std::nullopt, false, {}, {}, {}, {}});
  EXPECT_EQ(verdict_of(report), verdict_kind::trusted);
  EXPECT_NE(format_report(report).find("Verdict: trusted"), std::string::npos);
}

}  // namespace
}  // namespace danemq::maintenance
