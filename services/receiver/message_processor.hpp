#pragma once
// Decides the fate of a stored message and records it: accepted into the
// inbox (with its replay entry, in one transaction), refused into the
// quarantine with the typed reason, or — for a temporary failure such as a
// DNS timeout — parked for a retry with back-off until a time limit, then
// quarantined. Deciding (decryption, DNS, verification) runs on the worker
// threads; recording takes many decisions per transaction. Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "danemq/core/backoff.hpp"
#include "danemq/core/result.hpp"
#include "danemq/dane/identity_source.hpp"
#include "danemq/identity/identity_files.hpp"
#include "danemq/identity/key_set.hpp"
#include "danemq/jose/message.hpp"
#include "danemq/store/message_store.hpp"
#include "receipt_book.hpp"

namespace danemq::receiver {

struct processor_options {
  jose::open_options open{};  ///< remember_in_open and now are set per message
  std::chrono::milliseconds retry_limit{std::chrono::minutes(10)};
  /// For a sender whose name never resolved (as far as the identity source
  /// remembers): a publisher can invent such names in slow zones at will,
  /// while a known sender during a DNS outage gets the whole retry_limit.
  std::chrono::milliseconds unknown_sender_retry_limit{std::chrono::seconds(30)};
  backoff_policy retry{std::chrono::seconds(1), std::chrono::seconds(60)};
  /// Processing begun this many times without an outcome (the receiver died
  /// each time: a message that crashes it, a kill during a lookup that never
  /// ends) quarantines the message as processing_failed_repeatedly instead of
  /// trying again.
  int crash_limit{3};
  /// RECEIPTS: answer a message that asks for a receipt with one of ours.
  bool answer_receipts{true};
  /// The device's sent log and outbox: receipts are checked against it, ours
  /// are queued in it. None: every receipt is unexpected and none is sent.
  std::shared_ptr<receipt_book> receipts{};
  /// The MQTT topic of a peer (for our receipts); the name itself when unset.
  std::function<std::string(const std::string&)> topic_of{};
};

enum class fate {
  accepted,     ///< in the inbox
  quarantined,  ///< in the quarantine
  deferred,     ///< still pending, retried at next_attempt
  unchanged,    ///< still pending: the database could not record the outcome (or it was recorded before)
  receipt,      ///< a verified receipt for a message we sent: recorded, never shown
};

struct processing_outcome {
  fate what{fate::unchanged};
  std::int64_t raw_id{0};
  int attempts{0};                                                    ///< attempts before this one
  std::optional<store::inbox_entry> accepted;                         ///< accepted
  std::optional<failure> reason;                                      ///< quarantined, deferred, unchanged
  std::optional<std::chrono::system_clock::time_point> next_attempt;  ///< deferred
  /// receipt: who confirmed which of our messages.
  std::optional<std::pair<std::string, jose::receipt_claim>> receipt{};
};

/// What decide() concluded, before it is recorded.
struct decision {
  processing_outcome outcome;                   ///< as it will be once recorded
  std::optional<store::outcome_record> record;  ///< absent: nothing to record (stopping); its `then`:
                                                ///< our receipt for an accepted message, or the sent
                                                ///< message a verified receipt marks delivered
};

/// The two steps the pipeline runs for each stored message: deciding on a
/// worker, recording on the committer thread. message_processor is the real
/// one; the pipeline's tests use a fake.
class message_decider {
 public:
  message_decider() = default;
  virtual ~message_decider() = default;
  message_decider(const message_decider&) = delete;
  message_decider& operator=(const message_decider&) = delete;

  /// Decides the fate of a stored message without writing anything. When
  /// `cancelled` became true meanwhile (the receiver is stopping) the
  /// decision is unchanged, with nothing to record.
  [[nodiscard]] virtual decision decide(const store::pending_message& message,
                                        const std::atomic<bool>* cancelled = nullptr) = 0;
  /// Records decisions in one transaction (a group commit) and returns their
  /// final outcomes, in order; one the database refused is unchanged.
  [[nodiscard]] virtual std::vector<processing_outcome> record(std::vector<decision> decisions) = 0;
};

class message_processor final : public message_decider {
 public:
  /// Decrypts with any key of the set `keys` holds when a message is
  /// decided: a key set swapped in meanwhile (a rotation) applies from the
  /// next message on.
  message_processor(const identity::shared_key_set& keys, dane::identity_source& peers, store::message_store& store,
                    processor_options options)
      : keys_(keys), peers_(peers), store_(store), options_(std::move(options)) {}
  /// With one fixed key.
  message_processor(const identity::local_identity& me, dane::identity_source& peers, store::message_store& store,
                    processor_options options)
      : own_keys_(std::make_unique<identity::shared_key_set>(
            std::make_shared<const identity::key_set>(identity::key_set_of(me)))),
        keys_(*own_keys_),
        peers_(peers),
        store_(store),
        options_(std::move(options)) {}

  /// Opens the message as of its arrival time (freshness is judged when it
  /// reached us, not when a retry finally succeeds) and decides its fate,
  /// writing nothing but the mark that its processing began (cleared by the
  /// outcome, counted at the next start when the receiver died meanwhile). When `cancelled` became true meanwhile (the
  /// receiver is stopping) the decision is unchanged, with nothing to record.
  [[nodiscard]] decision decide(const store::pending_message& message,
                                const std::atomic<bool>* cancelled = nullptr) override;

  /// Records decisions in one transaction (a group commit) and returns their
  /// final outcomes, in order: an accept whose replay entry was taken
  /// meanwhile becomes a quarantined replay; one the database refused is unchanged.
  [[nodiscard]] std::vector<processing_outcome> record(std::vector<decision> decisions) override;

  /// Called from a worker when no key of the set decrypts a message: true
  /// when it swapped in a newer key set (a rotation's next key written just
  /// before its record was published, not yet picked up), and the message is
  /// tried once more. Set before the first decide().
  void set_key_refresh(std::function<bool()> refresh) { refresh_keys_ = std::move(refresh); }

  /// Does the work recorded outcomes left for the sender's database (queues
  /// our receipts, marks sent messages delivered) and forgets it once done;
  /// what fails stays for the next call. record() calls it after each
  /// commit; the receiver once at start, for what a crash left.
  void hand_over();

  /// decide() and record() for one message.
  [[nodiscard]] processing_outcome process(const store::pending_message& message,
                                           const std::atomic<bool>* cancelled = nullptr);

 private:
  /// A verified receipt: expected (we sent its signer the note it names) or quarantined.
  [[nodiscard]] decision receipt_decision(const store::pending_message& message, const jose::opened_message& opened);
  /// Our receipt for an accepted message that asked for one; none when it cannot be made (logged).
  [[nodiscard]] std::optional<store::hand_off> make_receipt(const jose::opened_message& opened,
                                                            dane::identity_source& peers);
  [[nodiscard]] decision retry_or_quarantine(const store::pending_message& message, const failure& why,
                                             std::chrono::milliseconds limit);

  std::unique_ptr<identity::shared_key_set> own_keys_;  ///< the fixed key of the second constructor
  const identity::shared_key_set& keys_;
  dane::identity_source& peers_;
  store::message_store& store_;
  processor_options options_;
  std::function<bool()> refresh_keys_;
  /// Hand-offs may wait in the store (unknown at start; some failed; a full round).
  bool hand_offs_left_{true};
};

}  // namespace danemq::receiver
