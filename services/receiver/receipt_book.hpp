#pragma once
// The device's sent log and outbox as the receiver sees them (the sender's
// database, DATA_PATH/sender.db, shared by the device's receiver and sender):
// a receipt is expected only for a message this device sent to its signer,
// marks that message delivered, and a receipt of our own is queued there for
// the device's `danemq-sender run` to deliver like any message.

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "danemq/core/result.hpp"
#include "danemq/jose/jws.hpp"
#include "danemq/store/outbox.hpp"

namespace danemq::receiver {

class receipt_book {
 public:
  receipt_book() = default;
  virtual ~receipt_book() = default;
  receipt_book(const receipt_book&) = delete;
  receipt_book& operator=(const receipt_book&) = delete;

  /// Whether we sent `signer` the message the receipt names.
  [[nodiscard]] virtual result<bool> expected(const std::string& signer, const jose::receipt_claim& claim) = 0;
  /// Marks that message delivered (idempotent: the first receipt's time stays).
  [[nodiscard]] virtual result<void> delivered(const std::string& signer, const jose::receipt_claim& claim,
                                               std::chrono::system_clock::time_point at) = 0;
  /// Queues sealed receipts for delivery, in one transaction.
  [[nodiscard]] virtual result<void> queue(std::span<const store::outbox_entry> receipts) = 0;
};

/// The real one, on DATA_PATH/sender.db (opened when first needed; a device
/// that never sent anything has no such file and expects no receipt).
class sender_database_book final : public receipt_book {
 public:
  explicit sender_database_book(std::filesystem::path path) : path_(std::move(path)) {}
  result<bool> expected(const std::string& signer, const jose::receipt_claim& claim) override;
  result<void> delivered(const std::string& signer, const jose::receipt_claim& claim,
                         std::chrono::system_clock::time_point at) override;
  result<void> queue(std::span<const store::outbox_entry> receipts) override;

 private:
  /// The open database; with `create` false, none when the file does not exist.
  result<store::outbox*> database(bool create);
  std::filesystem::path path_;
  std::mutex mutex_;
  std::optional<store::outbox> db_;
};

}  // namespace danemq::receiver
