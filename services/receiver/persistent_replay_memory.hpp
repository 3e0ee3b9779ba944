#pragma once
// The message layer's replay memory kept in the receiver's database
// (store::replay_table): it survives restarts and stays bounded. The
// receiver uses seen() during jose::open and writes the entry with
// message_store::record, in the same transaction as the inbox row;
// remember() serves callers that let open() remember by itself.

#include "danemq/jose/replay_memory.hpp"
#include "danemq/store/replay_table.hpp"

namespace danemq::receiver {

class persistent_replay_memory final : public jose::replay_memory {
 public:
  explicit persistent_replay_memory(store::replay_table& table) : table_(table) {}

  /// Failures are the database's (io_error, busy, ...).
  [[nodiscard]] result<bool> seen(std::string_view sender, std::string_view jti,
                                  std::chrono::system_clock::time_point now) override;
  /// Failures: the database's, and full when the bound is reached.
  [[nodiscard]] result<verdict> remember(std::string_view sender, std::string_view jti,
                                         std::chrono::system_clock::time_point now,
                                         std::chrono::system_clock::time_point forget_after) override;

 private:
  store::replay_table& table_;
};

}  // namespace danemq::receiver
