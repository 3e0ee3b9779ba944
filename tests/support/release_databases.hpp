#pragma once
// The databases as the first release wrote them (schema version 1): its
// CREATE statements copied here and never to be changed, so that the upgrade
// tests open exactly what a device upgraded from that release holds — not
// what today's code would create.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/crypto/openssl.hpp"
#include "danemq/store/sqlite.hpp"

namespace danemq::test {

/// receiver.db of release 1.
inline constexpr std::string_view release_1_receiver_schema = R"sql(
CREATE TABLE IF NOT EXISTS raw_messages (
  id INTEGER PRIMARY KEY,
  digest BLOB NOT NULL UNIQUE,
  topic TEXT NOT NULL,
  payload BLOB,
  received_at INTEGER NOT NULL,
  state INTEGER NOT NULL DEFAULT 0,
  copies INTEGER NOT NULL DEFAULT 1,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  first_failure_at INTEGER,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS raw_pending ON raw_messages(next_attempt_at, id) WHERE state = 0;
CREATE INDEX IF NOT EXISTS raw_pending_by_id ON raw_messages(id) WHERE state = 0;
CREATE TABLE IF NOT EXISTS inbox (
  id INTEGER PRIMARY KEY,
  raw_id INTEGER NOT NULL UNIQUE REFERENCES raw_messages(id),
  sender TEXT NOT NULL,
  recipient TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  processed_at INTEGER NOT NULL,
  issued_at INTEGER,
  jti TEXT,
  message TEXT NOT NULL,
  dnssec_secure INTEGER NOT NULL,
  legacy INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_sender ON inbox(sender, raw_id);
CREATE INDEX IF NOT EXISTS inbox_received ON inbox(received_at);
CREATE TABLE IF NOT EXISTS quarantine (
  id INTEGER PRIMARY KEY,
  raw_id INTEGER NOT NULL UNIQUE REFERENCES raw_messages(id),
  topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  received_at INTEGER NOT NULL,
  quarantined_at INTEGER NOT NULL,
  reason_category TEXT NOT NULL,
  reason_value INTEGER NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_received ON quarantine(received_at);
CREATE TABLE IF NOT EXISTS replay (
  sender TEXT NOT NULL,
  jti TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (sender, jti)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS replay_expiry ON replay(expires_at);
CREATE TABLE IF NOT EXISTS health (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  connected INTEGER NOT NULL,
  identity_in_sync INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  detail TEXT NOT NULL
);
)sql";

/// sender.db of release 1.
inline constexpr std::string_view release_1_sender_schema = R"sql(
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  recipient TEXT NOT NULL,
  topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);
)sql";

/// Creates `path` as release 1 did: the schema and user_version in one
/// transaction (`user_version` 0: as a file of that schema that never got its version).
inline store::database create_release_1_database(const std::filesystem::path& path, std::string_view schema,
                                                 int user_version = 1) {
  auto db = store::database::open(path);
  if (!db) throw std::runtime_error(db.error().message());
  auto done = db->exec("BEGIN IMMEDIATE; " + std::string(schema) +
                       "PRAGMA user_version = " + std::to_string(user_version) + "; COMMIT;");
  if (!done) throw std::runtime_error(done.error().message());
  return std::move(*db);
}

/// Adds a pending raw message to a release-1 receiver.db, as its store_raw
/// did (the digest is SHA-256 over topic, a zero byte and the payload); returns its id.
inline std::int64_t add_release_1_raw_message(store::database& db, const std::string& topic, std::string_view payload,
                                              std::chrono::system_clock::time_point received_at) {
  std::vector<std::uint8_t> material(topic.begin(), topic.end());
  material.push_back(0);
  material.insert(material.end(), payload.begin(), payload.end());
  auto insert = db.prepare(
      "INSERT INTO raw_messages (digest, topic, payload, received_at, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?4)");
  if (!insert) throw std::runtime_error(insert.error().message());
  insert->bind_blob(1, crypto::sha256(material)).bind(2, topic);
  insert->bind_blob(3, std::span(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()));
  insert->bind(4, store::to_millis(received_at));
  if (auto done = insert->run(); !done) throw std::runtime_error(done.error().message());
  return db.last_insert_rowid();
}

}  // namespace danemq::test
