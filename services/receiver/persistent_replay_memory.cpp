#include "persistent_replay_memory.hpp"

namespace danemq::receiver {

result<bool> persistent_replay_memory::seen(std::string_view sender, std::string_view jti,
                                            std::chrono::system_clock::time_point now) {
  return table_.contains(sender, jti, now);
}

result<jose::replay_memory::verdict> persistent_replay_memory::remember(
    std::string_view sender, std::string_view jti, std::chrono::system_clock::time_point now,
    std::chrono::system_clock::time_point forget_after) {
  const store::replay_entry entry{std::string(sender), std::string(jti), forget_after};
  auto remembered = table_.remember(std::span(&entry, 1), now);
  if (remembered) return verdict::first_seen;
  if (remembered.error().code == make_error_code(store::errc::conflict)) return verdict::seen_before;
  return remembered.error();
}

}  // namespace danemq::receiver
