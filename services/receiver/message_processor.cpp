#include "message_processor.hpp"

#include <algorithm>

#include "danemq/log/log.hpp"
#include "danemq/mqtt/errors.hpp"
#include "persistent_replay_memory.hpp"

namespace danemq::receiver {
namespace {

using clock = std::chrono::system_clock;

std::string seconds_text(std::chrono::milliseconds span) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(span).count()) + " s";
}

decision quarantine_decision(const store::pending_message& message, const failure& why) {
  decision out;
  out.outcome = processing_outcome{fate::quarantined, message.raw_id, message.attempts, {}, why, {}};
  store::outcome_record record;
  record.what = store::outcome_record::kind::quarantine;
  record.raw_id = message.raw_id;
  record.reason = store::refusal::of(why);
  out.record = std::move(record);
  return out;
}

/// Forwards to the real identity source and notes the last name asked, so
/// that a temporary failure is judged by whether that name ever resolved.
class asked_name_recorder final : public dane::identity_source {
 public:
  explicit asked_name_recorder(dane::identity_source& peers) : peers_(peers) {}
  result<dane::dane_identity_ptr> discover(std::string_view name) override {
    asked_ = name;
    return peers_.discover(name);
  }
  result<dane::trusted_key> confirm_certificate(std::string_view name, const X509& certificate) override {
    asked_ = name;
    return peers_.confirm_certificate(name, certificate);
  }
  bool resolved_before(std::string_view name) override { return peers_.resolved_before(name); }
  void mark_proven(std::string_view name) override { peers_.mark_proven(name); }
  [[nodiscard]] const std::optional<std::string>& asked() const noexcept { return asked_; }

 private:
  dane::identity_source& peers_;
  std::optional<std::string> asked_;
};

}  // namespace

decision message_processor::decide(const store::pending_message& message, const std::atomic<bool>* cancelled) {
  // Marked before anything of the message is parsed: a message that crashes
  // the receiver cannot crash it at every start. A load marks its messages
  // in one transaction (message.marked), except those that were being
  // processed at a crash: each of those is marked here, alone.
  auto unfinished = message.marked ? result<int>(message.unfinished) : store_.raw().begin_processing(message.raw_id);
  if (!unfinished) {
    decision out;
    out.outcome = processing_outcome{fate::unchanged, message.raw_id, message.attempts, {}, unfinished.error(), {}};
    return out;
  }
  if (*unfinished >= options_.crash_limit) {
    return quarantine_decision(
        message, fail(jose::errc::processing_failed_repeatedly,
                      "its processing began " + std::to_string(*unfinished) +
                          " times and the receiver stopped each time before an outcome (a crash or a kill)"));
  }
  const std::string_view wire(reinterpret_cast<const char*>(message.payload.data()), message.payload.size());
  auto open_options = options_.open;
  open_options.now = message.received_at;
  open_options.remember_in_open = false;  // remembered with the inbox row, in one transaction
  persistent_replay_memory replay(store_.replay());
  asked_name_recorder peers(peers_);
  // Held for the whole decision: a key set swapped in meanwhile does not free these keys.
  const auto keys = keys_.get();
  auto opened = jose::open(wire, *keys, peers, open_options, &replay);
  if (!opened && opened.error().code == jose::errc::decryption_failed && refresh_keys_ && refresh_keys_()) {
    opened = jose::open(wire, *keys_.get(), peers, open_options, &replay);
  }
  if (cancelled != nullptr && cancelled->load()) {
    // Stopping is no crash: this try does not count.
    if (auto taken_back = store_.raw().abandon_processing(message.raw_id); !taken_back) {
      spdlog::warn("message #{}: {}", message.raw_id, taken_back.error().message());
    }
    decision out;
    out.outcome =
        processing_outcome{fate::unchanged, message.raw_id, message.attempts, {}, fail(mqtt::errc::stopped), {}};
    return out;
  }
  if (!opened) {
    if (opened.error().code == jose::errc::key_unavailable) {
      // Our own key's token is away: that says nothing about the message, so
      // it waits for the token however long that takes.
      return retry_or_quarantine(message, opened.error(), std::chrono::milliseconds::max() / 2);
    }
    if (jose::is_temporary(opened.error())) {
      const bool unknown = peers.asked() && !peers_.resolved_before(*peers.asked());
      return retry_or_quarantine(
          message, opened.error(),
          unknown ? std::min(options_.unknown_sender_retry_limit, options_.retry_limit) : options_.retry_limit);
    }
    return quarantine_decision(message, opened.error());
  }
  // This identity verified a message: its cache entry is kept before those
  // of names nobody has proven.
  peers_.mark_proven(opened->sender);
  if (opened->receipt) return receipt_decision(message, *opened);

  store::inbox_entry entry;
  entry.raw_id = message.raw_id;
  entry.sender = opened->sender;
  entry.recipient = opened->recipient;
  entry.received_at = message.received_at;
  if (opened->issued_at) {
    entry.issued_at = std::chrono::duration_cast<std::chrono::seconds>(opened->issued_at->time_since_epoch()).count();
  }
  entry.jti = opened->jti;
  entry.message = opened->text;
  entry.dnssec_secure = opened->dnssec_secure;
  entry.legacy = opened->legacy;
  store::outcome_record record;
  record.what = store::outcome_record::kind::accept;
  record.raw_id = message.raw_id;
  if (opened->jti && opened->replay_expires_at) {
    // Kept until iat + horizon + skew, and beyond while an older message is
    // pending (a copy that arrived in time but waits behind a DNS deferral, a
    // backlog or a restart): the store purges below the oldest arrival.
    record.replay.push_back(store::replay_entry{opened->sender, *opened->jti, *opened->replay_expires_at});
  }
  record.entry = entry;
  if (opened->receipt_requested && options_.answer_receipts && options_.receipts) {
    record.then = make_receipt(*opened, peers);
  }
  decision out;
  out.outcome = processing_outcome{fate::accepted, message.raw_id, message.attempts, std::move(entry), {}, {}};
  out.record = std::move(record);
  return out;
}

decision message_processor::receipt_decision(const store::pending_message& message,
                                             const jose::opened_message& opened) {
  const auto& claim = *opened.receipt;
  auto known = options_.receipts ? options_.receipts->expected(opened.sender, claim) : result<bool>(false);
  if (!known) return retry_or_quarantine(message, known.error(), options_.retry_limit);
  if (!*known) {
    return quarantine_decision(
        message, fail(jose::errc::unexpected_receipt,
                      "receipt from " + opened.sender + " for jti " + claim.jti + ", a message we did not send to it"));
  }
  decision out;
  out.outcome = processing_outcome{fate::receipt, message.raw_id, message.attempts, {}, {}, {}};
  out.outcome.receipt = std::pair{opened.sender, claim};
  store::outcome_record record;
  record.what = store::outcome_record::kind::receipt;
  record.raw_id = message.raw_id;
  record.entry.sender = opened.sender;
  // A receipt is remembered like a message: a replayed one is refused.
  record.replay.push_back(store::replay_entry{opened.sender, *opened.jti, *opened.replay_expires_at});
  store::hand_off delivered;
  delivered.what = store::hand_off::kind::mark_delivered;
  delivered.peer = opened.sender;
  delivered.jti = claim.jti;
  delivered.note_digest = claim.of;
  delivered.at = clock::now();
  record.then = std::move(delivered);
  out.record = std::move(record);
  return out;
}

std::optional<store::hand_off> message_processor::make_receipt(const jose::opened_message& opened,
                                                               dane::identity_source& peers) {
  jose::seal_options sealing;
  sealing.format = jose::message_format::v2;
  sealing.max_message_size = options_.open.max_message_size;
  sealing.receipt = jose::receipt_claim{opened.note_digest, *opened.jti};
  // Signed with the current key, as every message of ours.
  const auto me = identity::current_identity(*keys_.get());
  auto sealed = jose::seal_note(jose::message_to_send{opened.sender, ""}, me, peers, sealing);
  if (!sealed) {
    spdlog::warn("no receipt for {}'s message {}: {}", opened.sender, *opened.jti, sealed.error().message());
    return std::nullopt;
  }
  store::hand_off receipt;
  receipt.what = store::hand_off::kind::send_receipt;
  receipt.peer = opened.sender;
  receipt.topic = options_.topic_of ? options_.topic_of(opened.sender) : opened.sender;
  receipt.payload.assign(sealed->wire.begin(), sealed->wire.end());
  receipt.at = clock::now();
  return receipt;
}

decision message_processor::retry_or_quarantine(const store::pending_message& message, const failure& why,
                                                std::chrono::milliseconds limit) {
  const auto now = clock::now();
  const auto first = message.first_failure_at.value_or(now);
  const auto failing_for = std::chrono::duration_cast<std::chrono::milliseconds>(now - first);
  if (failing_for >= limit) {
    return quarantine_decision(
        message, failure{why.code, why.detail + " (still failing after " + std::to_string(message.attempts + 1) +
                                       " attempts over " + seconds_text(failing_for) + ")"});
  }
  // The delay of attempt n follows the back-off policy; seeded by the id so
  // that messages parked together spread out.
  backoff delays(options_.retry, static_cast<std::uint64_t>(message.raw_id));
  auto delay = delays.next();
  for (int i = 0; i < message.attempts; ++i) delay = delays.next();
  // Never park beyond the limit: the last attempt happens at the limit.
  delay = std::min(delay, std::max(limit - failing_for, std::chrono::milliseconds(1)));
  decision out;
  out.outcome = processing_outcome{fate::deferred, message.raw_id, message.attempts, {}, why, now + delay};
  store::outcome_record record;
  record.what = store::outcome_record::kind::defer;
  record.raw_id = message.raw_id;
  record.attempts = message.attempts + 1;
  record.next_attempt_at = now + delay;
  record.first_failure_at = first;
  record.reason = store::refusal::of(why);
  out.record = std::move(record);
  return out;
}

std::vector<processing_outcome> message_processor::record(std::vector<decision> decisions) {
  std::vector<processing_outcome> outcomes;
  outcomes.reserve(decisions.size());
  std::vector<store::outcome_record> records;
  std::vector<std::size_t> recorded_index;
  bool hands_off = false;
  for (auto& one : decisions) {
    if (one.record) {
      hands_off = hands_off || one.record->then.has_value();
      recorded_index.push_back(outcomes.size());
      records.push_back(std::move(*one.record));
    }
    outcomes.push_back(std::move(one.outcome));
  }
  if (records.empty()) return outcomes;
  auto stored = store_.record(records);
  if (!stored) {
    for (const auto index : recorded_index) {
      outcomes[index].what = fate::unchanged;
      outcomes[index].reason = stored.error();
    }
    return outcomes;
  }
  // An accept refused because its (sender, jti) was remembered meanwhile —
  // another copy accepted between our replay check and this commit — is a
  // replay, and one whose sender used up its share of the replay memory is
  // over quota: quarantined in a second, small transaction. A full memory
  // leaves the message pending (fails closed).
  std::vector<store::outcome_record> replays;
  std::vector<std::size_t> replay_index;
  for (std::size_t i = 0; i < records.size(); ++i) {
    auto& outcome = outcomes[recorded_index[i]];
    const auto& result = (*stored)[i];
    if (result) {
      if (outcome.accepted) outcome.accepted->id = *result;
      continue;
    }
    const bool replayed = result.error().code == make_error_code(store::errc::conflict);
    const bool over_quota = result.error().code == make_error_code(store::errc::over_quota);
    const bool remembered_kind = records[i].what == store::outcome_record::kind::accept ||
                                 records[i].what == store::outcome_record::kind::receipt;
    if (remembered_kind && (replayed || over_quota)) {
      const auto& jti = records[i].replay.front().jti;
      // Over its share, a sender's further messages are refused with a reason
      // of their own, while everyone else's flow.
      const auto why = replayed ? fail(jose::errc::replay, "jti " + jti + " of " + records[i].entry.sender +
                                                               " was accepted from another message meanwhile")
                                : fail(jose::errc::sender_over_quota, result.error().detail);
      outcome =
          quarantine_decision(store::pending_message{records[i].raw_id, {}, {}, {}, outcome.attempts, {}}, why).outcome;
      replays.push_back(*quarantine_decision(store::pending_message{records[i].raw_id, {}, {}, {}, 0, {}}, why).record);
      replay_index.push_back(recorded_index[i]);
      continue;
    }
    outcome.what = fate::unchanged;
    outcome.reason = result.error();
    outcome.accepted.reset();
  }
  // After the commit only: a receipt says the message is stored, and a
  // receipt we got changes our sent log once it is remembered against replay.
  // Not a query per batch when there is nothing to hand over.
  if (hands_off || hand_offs_left_) hand_over();
  if (replays.empty()) return outcomes;
  auto quarantined = store_.record(replays);
  for (std::size_t i = 0; i < replays.size(); ++i) {
    auto& outcome = outcomes[replay_index[i]];
    const auto failed = !quarantined         ? std::optional<failure>(quarantined.error())
                        : !(*quarantined)[i] ? std::optional<failure>((*quarantined)[i].error())
                                             : std::nullopt;
    if (failed) {
      outcome.what = fate::unchanged;
      outcome.reason = *failed;
    }
  }
  return outcomes;
}

processing_outcome message_processor::process(const store::pending_message& message,
                                              const std::atomic<bool>* cancelled) {
  std::vector<decision> one;
  one.push_back(decide(message, cancelled));
  return record(std::move(one)).front();
}

void message_processor::hand_over() {
  if (!options_.receipts) return;
  // A bounded round: the receipts in one transaction of the sender's
  // database (one fsync for them, as the inbox has one for the batch).
  constexpr std::size_t round = 512;
  auto work = store_.hand_offs(round);
  if (!work) {
    spdlog::warn("receipts to hand over: {}", work.error().message());
    hand_offs_left_ = true;
    return;
  }
  hand_offs_left_ = false;
  if (work->empty()) return;
  std::vector<std::int64_t> done;
  std::vector<store::outbox_entry> receipts;
  std::vector<std::int64_t> receipt_ids;
  for (const auto& one : *work) {
    if (one.what == store::hand_off::kind::send_receipt) {
      receipts.push_back(store::outbox_entry{0, one.peer, one.topic, one.payload, one.at, 0});
      receipt_ids.push_back(one.id);
      continue;
    }
    const jose::receipt_claim claim{one.note_digest, one.jti};
    if (auto marked = options_.receipts->delivered(one.peer, claim, one.at); !marked) {
      spdlog::warn("receipt from {} for {} not recorded in the sent log yet: {}", one.peer, one.jti,
                   marked.error().message());
      continue;
    }
    done.push_back(one.id);
  }
  if (!receipts.empty()) {
    if (auto queued = options_.receipts->queue(receipts); queued) {
      done.insert(done.end(), receipt_ids.begin(), receipt_ids.end());
    } else {
      spdlog::warn("{} receipt(s) not queued yet: {}", receipts.size(), queued.error().message());
    }
  }
  if (auto finished = store_.finish_hand_offs(done); !finished) {
    spdlog::warn("receipts handed over, not yet forgotten: {}", finished.error().message());
    hand_offs_left_ = true;
  }
  // What failed, or a round's worth more, is tried after the next commit.
  hand_offs_left_ = hand_offs_left_ || done.size() < work->size() || work->size() == round;
}

}  // namespace danemq::receiver
