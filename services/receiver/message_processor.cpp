#include "message_processor.hpp"

#include <algorithm>

#include "danemq/log/log.hpp"
#include "danemq/mqtt/errors.hpp"
#include "danemq/store/replay_memory.hpp"

namespace danemq::receiver {
namespace {

using clock = std::chrono::system_clock;

std::string seconds_text(std::chrono::milliseconds span) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(span).count()) + " s";
}

}  // namespace

processing_outcome message_processor::process(const store::pending_message& message,
                                              const std::atomic<bool>* cancelled) {
  const std::string_view wire(reinterpret_cast<const char*>(message.payload.data()), message.payload.size());
  auto open_options = options_.open;
  open_options.now = message.received_at;
  open_options.remember_in_open = false;  // remembered with the inbox row, in one transaction
  store::persistent_replay_memory replay(store_);
  auto opened = jose::open(wire, me_, peers_, open_options, &replay);
  if (cancelled != nullptr && cancelled->load()) {
    return processing_outcome{fate::unchanged, message.raw_id, message.attempts, {}, fail(mqtt::errc::stopped), {}};
  }
  if (!opened) {
    if (jose::is_temporary(opened.error())) return retry_or_quarantine(message, opened.error());
    return quarantine(message, opened.error());
  }

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
  std::vector<store::replay_entry> remember;
  if (opened->jti && opened->replay_expires_at) {
    // Remembered at least a window from now: a copy that arrived in time but
    // waits in the backlog behind a slow lookup is still caught.
    const auto until = std::max(*opened->replay_expires_at, clock::now() + options_.open.max_age);
    remember.push_back(store::replay_entry{opened->sender, *opened->jti, until});
  }

  processing_outcome outcome{fate::accepted, message.raw_id, message.attempts, {}, {}, {}};
  auto accepted = store_.accept(entry, remember);
  if (accepted) {
    entry.id = *accepted;
    outcome.accepted = std::move(entry);
    return outcome;
  }
  if (accepted.error().code == make_error_code(store::errc::conflict)) {
    // Another copy with the same (sender, jti) was accepted between our
    // replay check and this commit.
    return quarantine(message, fail(jose::errc::replay, "jti " + *opened->jti + " of " + opened->sender +
                                                            " was accepted from another message meanwhile"));
  }
  outcome.what = fate::unchanged;
  outcome.reason = accepted.error();
  return outcome;
}

processing_outcome message_processor::quarantine(const store::pending_message& message, const failure& why) {
  processing_outcome outcome{fate::quarantined, message.raw_id, message.attempts, {}, why, {}};
  auto stored = store_.quarantine(message.raw_id, store::refusal::of(why), clock::now());
  if (!stored) {
    outcome.what = fate::unchanged;
    outcome.reason = stored.error();
  }
  return outcome;
}

processing_outcome message_processor::retry_or_quarantine(const store::pending_message& message, const failure& why) {
  const auto now = clock::now();
  const auto first = message.first_failure_at.value_or(now);
  const auto failing_for = std::chrono::duration_cast<std::chrono::milliseconds>(now - first);
  if (failing_for >= options_.retry_limit) {
    return quarantine(message,
                      failure{why.code, why.detail + " (still failing after " + std::to_string(message.attempts + 1) +
                                            " attempts over " + seconds_text(failing_for) + ")"});
  }
  // The delay of attempt n follows the back-off policy; seeded by the id so
  // that messages parked together spread out.
  mqtt::backoff delays(options_.retry, static_cast<std::uint64_t>(message.raw_id));
  auto delay = delays.next();
  for (int i = 0; i < message.attempts; ++i) delay = delays.next();
  // Never park beyond the limit: the last attempt happens at the limit.
  delay = std::min(delay, std::max(options_.retry_limit - failing_for, std::chrono::milliseconds(1)));
  const auto next = now + delay;
  processing_outcome outcome{fate::deferred, message.raw_id, message.attempts, {}, why, next};
  auto parked = store_.defer(message.raw_id, message.attempts + 1, next, first, store::refusal::of(why));
  if (!parked) {
    outcome.what = fate::unchanged;
    outcome.reason = parked.error();
  }
  return outcome;
}

}  // namespace danemq::receiver
