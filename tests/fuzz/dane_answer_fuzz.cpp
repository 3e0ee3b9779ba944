// libFuzzer target for what DANE discovery reads from the network: a DNS
// answer (wire form) to `dev._device.example.net TLSA`, the TLSA records in
// it (RDATA wire form and the checks on their certificates and keys), the
// presentation form, and the trust decision over the records.
//   build/fuzz/bin/dane_answer_fuzz tests/fuzz/corpus/tlsa -max_total_time=60

#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "danemq/dane/dns_message.hpp"
#include "danemq/dane/tlsa_rdata.hpp"
#include "danemq/dane/trust.hpp"

namespace {

using namespace danemq;

constexpr std::string_view question = "dev._device.example.net";

void check_records(const std::vector<identity::tlsa_record>& records, dane::dnssec_status status) {
  dane::trust_input input{std::string(question), status, records, std::chrono::system_clock::now()};
  const auto decision = dane::decide_trust(input, {});
  // Invariant: every record gets a verdict, and a usable key has a key.
  if (decision.verdicts.size() != records.size()) std::abort();
  for (const auto& key : decision.keys) {
    if (!key.public_key) std::abort();
  }
  (void)dane::decision_status(input, decision);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);

  // The input as one TLSA RDATA: parsing must round-trip.
  if (auto record = dane::tlsa_from_rdata(input)) {
    if (dane::tlsa_to_rdata(*record) != crypto::bytes(input.begin(), input.end())) std::abort();
    (void)dane::check_tlsa_record(*record);
    (void)dane::describe_record(*record);
  }

  // The input as presentation text.
  (void)dane::tlsa_from_text(std::string_view(reinterpret_cast<const char*>(data), size));

  // The input as a DNS answer.
  auto answer = dane::parse_answer(input, question, dane::rr_type::tlsa);
  if (!answer) return 0;
  (void)dane::answer_status(*answer);
  std::vector<identity::tlsa_record> records;
  for (const auto& rdata : answer->records) {
    if (auto record = dane::tlsa_from_rdata(rdata)) records.push_back(std::move(record).value());
  }
  check_records(records, answer->authenticated_data ? dane::dnssec_status::secure : dane::dnssec_status::insecure);
  return 0;
}
