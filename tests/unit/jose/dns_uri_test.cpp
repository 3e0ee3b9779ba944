#include "danemq/jose/dns_uri.hpp"

#include <gtest/gtest.h>

namespace danemq::jose {
namespace {

TEST(DnsUri, WritesTheV2AndTheOriginalForms) {
  EXPECT_EQ(dns_uri("alice.example"), "dns:alice.example?type=TLSA");
  EXPECT_EQ(original_dns_uri("alice.example"), "dns://alice.example?type=TLSA");
}

TEST(DnsUri, ReadsEveryAcceptedFormAsTheCanonicalName) {
  for (const char* uri :
       {"dns:alice.example?type=TLSA", "dns://alice.example?type=TLSA", "dns://192.0.2.53/alice.example?type=TLSA",
        "DNS:Alice.Example.?TYPE=tlsa", "dns://resolver.example:53/alice.example?type=TLSA"}) {
    auto name = name_from_dns_uri(uri);
    ASSERT_TRUE(name) << uri << ": " << name.error().message();
    EXPECT_EQ(*name, "alice.example") << uri;
  }
}

TEST(DnsUri, RefusesOtherSchemesQueriesAndEncodings) {
  for (const char* uri : {"https://alice.example", "dns:alice.example", "dns:alice.example?type=A",
                          "dns:alice.example?class=IN;type=TLSA", "dns:alice%2eexample?type=TLSA", "dns:?type=TLSA",
                          "dns://?type=TLSA", "dns:a/b/c?type=TLSA", "dns:ali ce.example?type=TLSA", ""}) {
    auto name = name_from_dns_uri(uri);
    ASSERT_FALSE(name) << uri;
    EXPECT_EQ(name.error().code, make_error_code(errc::bad_format)) << uri;
  }
}

// Found by tests/fuzz/dns_uri_fuzz: the authority slot of "dns://<authority>/<name>"
// took any character, so a URI whose real query or fragment starts inside it
// ("dns://a?b/name?type=TLSA" is host "a" with query "b/name?type=TLSA") was
// read as naming "name".
TEST(DnsUri, RefusesAnAuthorityThatIsNotAHostAndPort) {
  for (const char* uri :
       {"dns://a?b/alice.example?type=TLSA", "dns://a#x/alice.example?type=TLSA", "dns://a%41/alice.example?type=TLSA",
        "dns://a;b/alice.example?type=TLSA", "dns://us er@host/alice.example?type=TLSA"}) {
    auto name = name_from_dns_uri(uri);
    ASSERT_FALSE(name) << uri << " read as " << *name;
    EXPECT_EQ(name.error().code, make_error_code(errc::bad_format)) << uri;
  }
  for (const char* uri : {"dns://[2001:db8::53]:53/alice.example?type=TLSA", "dns:///alice.example?type=TLSA",
                          "dns://ns_1.example:5353/alice.example?type=TLSA"}) {
    auto name = name_from_dns_uri(uri);
    ASSERT_TRUE(name) << uri << ": " << name.error().message();
    EXPECT_EQ(*name, "alice.example") << uri;
  }
}

TEST(DnsUri, AudienceIsADnsUriOrABareName) {
  EXPECT_EQ(*name_from_audience("bob.example"), "bob.example");
  EXPECT_EQ(*name_from_audience("dns:bob.example?type=TLSA"), "bob.example");
  EXPECT_FALSE(name_from_audience("https://bob.example/"));
  EXPECT_FALSE(name_from_audience(""));
}

}  // namespace
}  // namespace danemq::jose
