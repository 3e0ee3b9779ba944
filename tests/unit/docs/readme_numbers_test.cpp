// The numbers users see, pinned to what README.md documents: the quarantine
// codes `jose:<code> <reason>` (the receiver's table) and the exit codes of
// the three programs. Literal numbers and texts on purpose: comparing the
// code with its own constants would pass whatever they became.

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "danemq/jose/errors.hpp"
#include "maintenance_app.hpp"
#include "receiver_app.hpp"
#include "sender_app.hpp"

namespace danemq {
namespace {

TEST(ReadmeNumbers, QuarantineCodesAndReasonsAreTheReceiversTable) {
  using jose::errc;
  const std::vector<std::pair<errc, std::pair<int, std::string>>> documented{
      {errc::bad_format, {1, "malformed message"}},
      {errc::bad_algorithm, {2, "algorithm not accepted"}},
      {errc::unsupported_extension, {3, "unsupported critical header"}},
      {errc::too_large, {4, "message too large"}},
      {errc::not_for_us, {5, "message not addressed to us"}},
      {errc::legacy_refused, {6, "legacy message without recipient binding refused"}},
      {errc::too_old, {7, "message too old"}},
      {errc::from_the_future, {8, "message issued in the future"}},
      {errc::replay, {9, "message replayed"}},
      {errc::decryption_failed, {10, "decryption failed"}},
      {errc::signature_failed, {11, "signature verification failed"}},
      {errc::unknown_in_dns, {12, "identity unknown in DNS"}},
      {errc::not_dnssec_secure, {13, "identity not DNSSEC-secure"}},
      {errc::lookup_failed, {14, "identity lookup failed"}},
      {errc::lookup_temporarily_failed, {15, "identity lookup failed temporarily"}},
      {errc::replay_memory_failed, {16, "replay memory failed"}},
      {errc::unsupported_key, {17, "key type not accepted"}},
      {errc::internal_error, {18, "internal JOSE error"}},
      {errc::sender_not_allowed, {19, "sender not allowed"}},
      {errc::processing_failed_repeatedly, {20, "processing failed repeatedly"}},
      {errc::sender_over_quota, {21, "sender over quota"}},
      {errc::unexpected_receipt, {22, "unexpected receipt"}},
      {errc::key_unavailable, {23, "private key unavailable"}},
  };
  for (const auto& [code, number_and_reason] : documented) {
    EXPECT_EQ(static_cast<int>(code), number_and_reason.first) << number_and_reason.second;
    EXPECT_EQ(jose::make_error_code(code).message(), number_and_reason.second);
  }
  EXPECT_EQ(documented.size(), static_cast<std::size_t>(errc::key_unavailable)) << "a code the README does not list";
}

TEST(ReadmeNumbers, MaintenanceExitCodes) {
  EXPECT_EQ(maintenance::exit_success, 0);
  EXPECT_EQ(maintenance::exit_usage, 1);
  EXPECT_EQ(maintenance::exit_identity_files, 2);
  EXPECT_EQ(maintenance::exit_dns_mismatch, 3);
  EXPECT_EQ(maintenance::exit_not_yet, 4);
}

TEST(ReadmeNumbers, SenderExitCodes) {
  EXPECT_EQ(sender::exit_success, 0);
  EXPECT_EQ(sender::exit_usage, 1);
  EXPECT_EQ(sender::exit_recipient, 2);
  EXPECT_EQ(sender::exit_broker, 3);
}

TEST(ReadmeNumbers, ReceiverExitCodes) {
  EXPECT_EQ(receiver::exit_success, 0);
  EXPECT_EQ(receiver::exit_failure, 1);
}

}  // namespace
}  // namespace danemq
