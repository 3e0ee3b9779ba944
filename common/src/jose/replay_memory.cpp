#include "danemq/jose/replay_memory.hpp"

namespace danemq::jose {

result<bool> in_memory_replay_memory::seen(std::string_view sender, std::string_view jti,
                                           std::chrono::system_clock::time_point now) {
  const std::lock_guard lock(mutex_);
  const auto found = entries_.find(std::make_pair(std::string(sender), std::string(jti)));
  static_cast<void>(now);  // an entry is a replay for as long as it is kept
  return found != entries_.end();
}

result<replay_memory::verdict> in_memory_replay_memory::remember(std::string_view sender, std::string_view jti,
                                                                 std::chrono::system_clock::time_point now,
                                                                 std::chrono::system_clock::time_point forget_after) {
  const std::lock_guard lock(mutex_);
  auto key = std::make_pair(std::string(sender), std::string(jti));
  // Never overwritten: a copy is a replay for as long as the entry exists.
  if (entries_.contains(key)) return verdict::seen_before;
  if (entries_.size() >= capacity_) std::erase_if(entries_, [&](const auto& entry) { return entry.second < now; });
  if (entries_.size() >= capacity_) {
    return fail(std::make_error_code(std::errc::no_buffer_space),
                "replay memory full (" + std::to_string(capacity_) + " unexpired entries)");
  }
  entries_.emplace(std::move(key), forget_after);
  return verdict::first_seen;
}

std::size_t in_memory_replay_memory::size() const {
  const std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace danemq::jose
