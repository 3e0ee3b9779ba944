#include "receipt_book.hpp"

namespace danemq::receiver {

result<store::outbox*> sender_database_book::database(bool create) {
  if (db_) return &*db_;
  std::error_code ec;
  if (!create && !std::filesystem::exists(path_, ec)) return static_cast<store::outbox*>(nullptr);
  auto opened = store::outbox::open(path_);
  if (!opened) return opened.error();
  db_.emplace(std::move(*opened));
  return &*db_;
}

result<bool> sender_database_book::expected(const std::string& signer, const jose::receipt_claim& claim) {
  std::lock_guard lock(mutex_);
  auto db = database(false);
  if (!db) return db.error();
  if (*db == nullptr) return false;
  return (*db)->was_sent(signer, claim.jti, claim.of);
}

result<void> sender_database_book::delivered(const std::string& signer, const jose::receipt_claim& claim,
                                             std::chrono::system_clock::time_point at) {
  std::lock_guard lock(mutex_);
  auto db = database(false);
  if (!db) return db.error();
  if (*db == nullptr) return ok();
  auto marked = (*db)->mark_delivered(signer, claim.jti, claim.of, at);
  if (!marked) return marked.error();
  return ok();
}

result<void> sender_database_book::queue(std::span<const store::outbox_entry> receipts) {
  if (receipts.empty()) return ok();
  std::lock_guard lock(mutex_);
  auto db = database(true);
  if (!db) return db.error();
  return (*db)->enqueue(receipts);
}

}  // namespace danemq::receiver
