#include "danemq/log/log.hpp"

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>

#include "danemq/core/display_text.hpp"
#include "danemq/core/error_category.hpp"
#include "danemq/core/utc_time.hpp"

namespace danemq::log {
namespace {

const char* describe(errc e) {
  switch (e) {
    case errc::ok: return "success";
    case errc::bad_format: return "invalid log format (expected text or json)";
    case errc::bad_level: return "invalid log level";
  }
  return nullptr;
}

/// "2024-05-01T12:00:00.123Z": UTC with milliseconds.
std::string utc_stamp(std::chrono::system_clock::time_point when) {
  return core::iso_utc_millis(when);
}

/// One line per record: `<time> <level> [<service>] <message>`, the message
/// escaped for display, since it may quote names, topics and text from the
/// network (a newline would forge a second record).
class text_formatter final : public spdlog::formatter {
 public:
  explicit text_formatter(std::string service) : service_(std::move(service)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto level = spdlog::level::to_string_view(msg.level);
    const std::string text = utc_stamp(msg.time) + " " + std::string(level.data(), level.size()) + " [" + service_ +
                             "] " + core::escape_for_display(std::string_view(msg.payload.data(), msg.payload.size())) +
                             "\n";
    dest.append(text.data(), text.data() + text.size());
  }

  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<text_formatter>(service_);
  }

 private:
  std::string service_;
};

/// One JSON object per line; the message is escaped by nlohmann::json, which
/// a pattern string could not do.
class json_formatter final : public spdlog::formatter {
 public:
  explicit json_formatter(std::string service) : service_(std::move(service)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const nlohmann::json line = {
        {"time", utc_stamp(msg.time)},
        {"level",
         std::string(spdlog::level::to_string_view(msg.level).data(), spdlog::level::to_string_view(msg.level).size())},
        {"service", service_},
        {"message", std::string(msg.payload.data(), msg.payload.size())},
    };
    const auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    dest.append(text.data(), text.data() + text.size());
  }

  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>(service_);
  }

 private:
  std::string service_;
};

}  // namespace

const std::error_category& log_category() noexcept {
  static const enum_error_category<errc> instance("log", describe);
  return instance;
}

result<format> parse_format(std::string_view text) {
  if (text == "text") return format::text;
  if (text == "json") return format::json;
  return fail(errc::bad_format, "got '" + std::string(text) + "'");
}

result<spdlog::level::level_enum> parse_level(std::string_view text) {
  for (int level = spdlog::level::trace; level < spdlog::level::n_levels; ++level) {
    const auto name = spdlog::level::to_string_view(static_cast<spdlog::level::level_enum>(level));
    if (text == std::string_view(name.data(), name.size())) return static_cast<spdlog::level::level_enum>(level);
  }
  if (text == "warn") return spdlog::level::warn;
  return fail(errc::bad_level, "got '" + std::string(text) + "'");
}

void init(std::string_view service, format fmt, spdlog::level::level_enum level) {
  // spdlog's free functions read the default logger through a raw pointer
  // without a lock, so replacing it while another thread logs would free the
  // logger under that thread. One logger is installed once; a later call only
  // changes its formatter (under the sink's mutex) and its level (atomic).
  static const std::shared_ptr<spdlog::logger> logger = [] {
    auto made = std::make_shared<spdlog::logger>("danemq", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    made->flush_on(spdlog::level::info);
    spdlog::set_default_logger(made);
    return made;
  }();
  if (fmt == format::json) {
    logger->set_formatter(std::make_unique<json_formatter>(std::string(service)));
  } else {
    logger->set_formatter(std::make_unique<text_formatter>(std::string(service)));
  }
  logger->set_level(level);
}

}  // namespace danemq::log
