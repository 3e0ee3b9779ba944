// libFuzzer target for the whole receive decision: MQTT payload bytes as the
// receiver's client hands them over, stored in a real receiver database (a
// payload over MAX_MESSAGE_SIZE refused on arrival, the rest raw) and
// processed by the receiver's message_processor — decryption, the sender
// policy, the fake identity source of the message corpus instead of DNS,
// verification, freshness, the persistent replay memory — to an outcome
// recorded in the inbox or the quarantine, with the quarantine's retention
// applied after each input. Nothing may crash, leak, hit UB or throw; every
// message ends accepted (addressed to us, from a known party), quarantined
// (with a jose reason) or deferred, never left unchanged. Seed corpus:
// tests/fuzz/corpus/receive/ (messages to bob of every kind).
//   build/fuzz/bin/receive_decision_fuzz tests/fuzz/corpus/receive -max_total_time=60

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "danemq/crypto/openssl.hpp"
#include "danemq/jose/errors.hpp"
#include "danemq/log/log.hpp"
#include "danemq/store/message_store.hpp"
#include "message_parties.hpp"
#include "message_processor.hpp"

namespace {

using namespace danemq;
using clock = std::chrono::system_clock;

constexpr std::size_t max_message_size = 1 << 16;
const std::string topic = "bob.example";

struct fixture {
  jose::fuzz::message_parties parties{DANEMQ_SOURCE_DIR "/tests/fuzz/keys"};
  identity::local_identity bob = parties.local("bob.example");
  std::filesystem::path dir;
  std::optional<store::message_store> store;
  std::unique_ptr<receiver::message_processor> processor;

  fixture() {
    spdlog::set_level(spdlog::level::off);
    // A tmpfs when there is one: every stored message is fsynced.
    const std::filesystem::path base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    dir = base / ("danemq-receive-fuzz-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    store::message_store_limits limits;
    limits.quarantine = {std::chrono::days(3650), 1 << 20};  // the corpus is old: bound by bytes
    store.emplace(store::message_store::open(dir / "receiver.db", {}, limits).value());
    receiver::processor_options options;
    options.open.max_message_size = max_message_size;
    options.open.max_plaintext_size = max_message_size;
    options.open.accept_legacy = true;
    processor = std::make_unique<receiver::message_processor>(bob, parties.dns, *store, options);
  }
  ~fixture() {
    processor.reset();
    store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  fixture(const fixture&) = delete;
  fixture& operator=(const fixture&) = delete;
};

fixture& shared() {
  static fixture instance;
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& f = shared();
  // As the receiver's client and intake do: a payload over the limit is kept
  // as its digest only, the rest raw; both at the corpus's time, when its
  // messages are fresh.
  store::incoming_message incoming{topic, {}, jose::fuzz::corpus_time};
  const std::uint8_t separator = 0;
  if (size > max_message_size) {
    const auto digest = crypto::sha256_of_parts(
        {{reinterpret_cast<const std::uint8_t*>(topic.data()), topic.size()}, {&separator, 1}, {data, size}});
    incoming.refused = store::refused_on_arrival{
        digest, store::refusal::of(fail(jose::errc::too_large, std::to_string(size) + " bytes"))};
  } else {
    incoming.payload.assign(data, data + size);
  }
  auto stored = f.store->raw().store_raw(std::span(&incoming, 1));
  if (!stored) std::abort();
  const auto& raw = stored->front();
  if (raw.duplicate) return 0;  // the same bytes again: stored once, decided once
  if (raw.quarantined != incoming.refused.has_value()) std::abort();
  if (!raw.quarantined) {
    const store::pending_message message{raw.raw_id, topic, incoming.payload, incoming.received_at, 0, {}};
    const auto outcome = f.processor->process(message);
    switch (outcome.what) {
      case receiver::fate::accepted:
        if (!outcome.accepted || outcome.accepted->recipient != "bob.example" ||
            !f.parties.keys.contains(outcome.accepted->sender)) {
          std::abort();
        }
        break;
      case receiver::fate::quarantined:
        if (!outcome.reason || outcome.reason->code.category() != jose::jose_category()) std::abort();
        break;
      case receiver::fate::deferred: break;
      case receiver::fate::unchanged: std::abort();
      case receiver::fate::receipt: std::abort();  // no sent log here: no receipt can be expected
    }
  }
  if (!f.store->enforce_retention(clock::now())) std::abort();
  return 0;
}
