#include "rotation_state.hpp"

#include "danemq/core/utc_time.hpp"

#include <ctime>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "danemq/identity/errors.hpp"
#include "danemq/identity/identity_files.hpp"

namespace danemq::maintenance {
namespace {

using time_point = rotation_state::time_point;

std::int64_t to_ms(time_point when) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
}

time_point from_ms(std::int64_t ms) {
  return time_point(std::chrono::duration_cast<time_point::duration>(std::chrono::milliseconds(ms)));
}

}  // namespace

std::string_view to_string(rotation_phase phase) noexcept {
  switch (phase) {
    case rotation_phase::begun: return "begun";
    case rotation_phase::committed: return "committed";
    case rotation_phase::finished: return "finished";
  }
  return "unknown";
}

std::optional<time_point> rotation_state::commit_due() const {
  if (!seen_published_at) return std::nullopt;
  return *seen_published_at + std::chrono::seconds(ttl);
}

std::optional<time_point> rotation_state::finish_due() const {
  if (!committed_at) return std::nullopt;
  return *committed_at + max_age;
}

std::optional<time_point> rotation_state::destroy_due() const {
  if (!finished_at) return std::nullopt;
  return *finished_at + max_age + std::chrono::seconds(ttl);
}

std::filesystem::path rotation_state_path(const std::filesystem::path& crypto_path, std::string_view name) {
  return crypto_path / (std::string(name) + ".rotation.json");
}

std::string to_json(const rotation_state& state) {
  nlohmann::json json{{"phase", std::string(to_string(state.phase))},
                      {"began_at_ms", to_ms(state.began_at)},
                      {"ttl_s", state.ttl},
                      {"max_age_s", state.max_age.count()},
                      {"old_key_sha256", state.old_key},
                      {"new_key_sha256", state.new_key}};
  if (state.seen_published_at) json["seen_published_at_ms"] = to_ms(*state.seen_published_at);
  if (state.committed_at) json["committed_at_ms"] = to_ms(*state.committed_at);
  if (state.finished_at) json["finished_at_ms"] = to_ms(*state.finished_at);
  return json.dump(2) + "\n";
}

result<rotation_state> rotation_state_from_json(std::string_view text) {
  const auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return fail(identity::errc::file_unreadable, "not a JSON object");
  try {
    rotation_state state;
    const auto phase = json.at("phase").get<std::string>();
    if (phase == "begun") {
      state.phase = rotation_phase::begun;
    } else if (phase == "committed") {
      state.phase = rotation_phase::committed;
    } else if (phase == "finished") {
      state.phase = rotation_phase::finished;
    } else {
      return fail(identity::errc::file_unreadable, "unknown phase '" + phase + "'");
    }
    state.began_at = from_ms(json.at("began_at_ms").get<std::int64_t>());
    state.ttl = json.at("ttl_s").get<unsigned>();
    state.max_age = std::chrono::seconds(json.at("max_age_s").get<std::int64_t>());
    state.old_key = json.at("old_key_sha256").get<std::string>();
    state.new_key = json.at("new_key_sha256").get<std::string>();
    if (json.contains("seen_published_at_ms")) {
      state.seen_published_at = from_ms(json.at("seen_published_at_ms").get<std::int64_t>());
    }
    if (json.contains("committed_at_ms")) state.committed_at = from_ms(json.at("committed_at_ms").get<std::int64_t>());
    if (json.contains("finished_at_ms")) state.finished_at = from_ms(json.at("finished_at_ms").get<std::int64_t>());
    return state;
  } catch (const nlohmann::json::exception& e) {
    return fail(identity::errc::file_unreadable, std::string("bad rotation state: ") + e.what());
  }
}

result<std::optional<rotation_state>> load_rotation_state(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<rotation_state>{};
  auto text = identity::read_small_file(path, std::size_t{64} * 1024);
  if (!text) return text.error();
  auto state = rotation_state_from_json(*text);
  if (!state) return fail(identity::errc::file_unreadable, path.string() + ": " + state.error().detail);
  return std::optional<rotation_state>(std::move(*state));
}

result<void> save_rotation_state(const std::filesystem::path& path, const rotation_state& state,
                                 std::optional<uid_t> owner) {
  return identity::write_file_atomically(path, to_json(state), 0600, owner, true);
}

std::string utc_text(std::chrono::system_clock::time_point when) {
  return core::readable_utc(when);
}

}  // namespace danemq::maintenance
