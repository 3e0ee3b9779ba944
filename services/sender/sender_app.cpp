#include "sender_app.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "danemq/config/cli_binding.hpp"
#include "danemq/config/connections.hpp"
#include "danemq/config/time_text.hpp"
#include "danemq/config/version.hpp"
#include "danemq/core/display_text.hpp"
#include "danemq/identity/dns_name.hpp"
#include "danemq/identity/identity_files.hpp"
#include "danemq/jose/message.hpp"
#include "danemq/log/log.hpp"
#include "danemq/runtime/setting_wait.hpp"
#include "outbox_listing.hpp"

namespace danemq::sender {
namespace {

result<store::outbox> open_outbox(const sender_settings& settings) {
  if (auto prepared = config::prepare_data_path(settings.service); !prepared) {
    return fail(store::errc::open_failed, prepared.error().detail);
  }
  auto directory = store::prepare_private_directory(settings.service.data_path);
  if (!directory) return fail(store::errc::open_failed, "DATA_PATH " + directory.error().detail);
  if (!directory->empty()) spdlog::warn("DATA_PATH {}", *directory);
  return store::outbox::open(outbox_path(settings));
}

std::vector<std::uint8_t> bytes_of(const std::string& text) {
  return {text.begin(), text.end()};
}

/// A client id of its own for each `send`, so that it never takes over the
/// session of `run` (or of another `send`) on the broker.
std::string one_shot_client_id(const sender_settings& settings) {
  std::random_device random;
  return settings.service.identity_name + "/send-" + std::to_string(::getpid()) + "-" +
         std::to_string(random() % 100000);
}

}  // namespace

exit_code exit_code_for_seal_failure(const failure& why) {
  using jose::errc;
  for (const auto code : {errc::unknown_in_dns, errc::not_dnssec_secure, errc::lookup_failed,
                          errc::lookup_temporarily_failed, errc::unsupported_key}) {
    if (why.code == make_error_code(code)) return exit_recipient;
  }
  return exit_usage;
}

// ---- the command line ----

sender_app::sender_app(std::ostream& out, std::ostream& err, std::istream& in, sender_dependencies dependencies)
    : out_(out), err_(err), in_(in), dependencies_(std::move(dependencies)) {}

int sender_app::error(exit_code code, const std::string& message) {
  err_ << "danemq-sender: " << message << '\n';
  return code;
}

result<std::shared_ptr<dane::identity_source>> sender_app::peer_source(const config::service_settings& service) const {
  if (dependencies_.peers) return dependencies_.peers;
  return config::make_discovery(service);
}

result<sender_app::sending_parts> sender_app::sending_parts_for(const config::service_settings& service) const {
  auto me = identity::load_local_identity(service.crypto_path, service.identity_name, service.identity_key);
  if (!me) {
    return failure{me.error().code, "local identity in " + service.crypto_path.string() + ": " + me.error().message()};
  }
  auto peers = peer_source(service);
  if (!peers) return peers.error();
  return sending_parts{std::move(*me), std::move(*peers)};
}

jose::seal_options sender_app::sealing_for(const sender_settings& settings) {
  jose::seal_options sealing;
  sealing.format = settings.format;
  sealing.max_message_size = settings.service.max_message_size;
  sealing.request_receipt = settings.receipts && settings.format == jose::message_format::v2;
  return sealing;
}

int sender_app::wait_for_setting(const std::string& missing) {
  (void)runtime::wait_for_missing_setting(err_, "danemq-sender", missing);
  return exit_usage;
}

int sender_app::run(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv, argv + argc);
    if (!args.empty() && std::filesystem::path(args[0]).filename() == "send_message") {
      args.insert(args.begin() + 1, "send");
    }
    CLI::App cli("Sends an end-to-end encrypted, source-signed message over MQTT to a DANE identity.", "danemq-sender");
    cli.fallthrough();
    cli.require_subcommand(1, 1);
    cli.set_version_flag("--version", config::version_text("danemq-sender"),
                         "Print the version and those of the libraries");
    cli.footer(
        "Exit codes: 0 acknowledged by the broker (or queued with --queue; with --wait: receipted); 1 usage or "
        "configuration; 2 recipient identity not usable (no TLSA, not DNSSEC-secure, bad key); 3 broker unreachable or "
        "publish not acknowledged; 4 (--wait) published, not confirmed.");
    config::option_binding<sender_settings> binding(cli, sender_options());
    std::string recipient;
    std::string text;
    auto* send_command = cli.add_subcommand("send", "sign, encrypt and publish one message (alias: send_message)");
    send_command->add_option("recipient", recipient, "the recipient's identity (DNS name)")
        ->required()
        ->type_name("NAME");
    send_command->add_option("message", text, "the message, or - to read it from standard input")->required();
    auto* run_command = cli.add_subcommand("run", "deliver the outbox in order whenever the broker is reachable");
    bool json = false;
    std::vector<std::int64_t> cancel_ids;
    auto* outbox_command = cli.add_subcommand("outbox", "list the messages waiting in the outbox, oldest first");
    outbox_command->require_subcommand(0, 1);
    outbox_command->add_flag("--json", json, "one JSON object per line");
    auto* cancel_command =
        outbox_command->add_subcommand("cancel", "remove waiting messages from the outbox (nothing is sent)");
    cancel_command->add_option("id", cancel_ids, "the ids `outbox` lists after #")
        ->required()
        ->type_name("ID")
        ->check(CLI::PositiveNumber);
    auto* retry_command = outbox_command->add_subcommand(
        "retry", "make the running `run` try again now instead of at the end of its back-off");
    auto* sent_command = cli.add_subcommand("sent", "list the messages this device sent, with their state");
    std::optional<std::string> sent_to;
    std::optional<std::string> sent_since;
    std::size_t sent_limit = 0;
    bool sent_json = false;
    sent_command->add_option("--to", sent_to, "only those to this identity")->type_name("NAME");
    sent_command->add_option("--since", sent_since, "queued at or after: a duration back (15m, 2h, 3d) or a UTC date")
        ->type_name("DURATION|DATE");
    sent_command->add_option("--limit", sent_limit, "the newest N only")->type_name("N")->check(config::at_least_one());
    sent_command->add_flag("--json", sent_json, "one JSON object per line");
    std::string peer;
    auto* chat_command = cli.add_subcommand(
        "chat",
        "a conversation in the terminal: the history with PEER, then their new messages as they arrive (from this "
        "device's running danemq-receiver) and each line typed, sent; Ctrl-D or /quit leaves");
    chat_command->add_option("peer", peer, "the peer's identity (DNS name)")->required()->type_name("PEER");
    std::vector<const char*> pointers;
    pointers.reserve(args.size());
    for (const auto& arg : args) pointers.push_back(arg.c_str());
    try {
      cli.parse(static_cast<int>(pointers.size()), pointers.data());
    } catch (const CLI::ParseError& e) {
      if (auto unknown = config::unknown_subcommand(cli); unknown && e.get_exit_code() != 0)
        return error(exit_usage, *unknown);
      if (e.get_exit_code() == 0) return cli.exit(e, out_, err_) == 0 ? exit_success : exit_usage;
      return error(exit_usage, config::parse_failure_line(e));
    }
    sender_settings settings;
    // `run` is long-running: without a required setting it waits rather than
    // exit into a restart loop; `send` exits.
    const auto missing_in_run = [&](const failure& why) {
      return run_command->parsed() && why.code == make_error_code(config::errc::missing_setting);
    };
    // The outbox commands and `sent` read DATA_PATH only: no identity or broker needed.
    const bool managing = outbox_command->parsed() || sent_command->parsed();
    if (auto applied = binding.apply(settings, !managing); !applied) {
      if (missing_in_run(applied.error())) return wait_for_setting(applied.error().detail);
      return error(exit_usage, applied.error().detail);
    }
    if (managing) {
      if (sent_command->parsed()) return list_sent(settings, sent_to, sent_since, sent_limit, sent_json);
      if (cancel_command->parsed()) return cancel_outbox(settings, cancel_ids);
      if (retry_command->parsed()) return retry_outbox(settings);
      return list_outbox(settings, json);
    }
    if (auto consistent = config::check_consistency(settings.service); !consistent) {
      if (missing_in_run(consistent.error())) return wait_for_setting(consistent.error().detail);
      return error(exit_usage, consistent.error().detail);
    }
    if (dependencies_.configure_logging) {
      log::init("danemq-sender", settings.service.log_format, settings.service.log_level);
    }
    if (run_command->parsed()) {
      if (auto dropped = config::apply_app_uid(settings.service.app_uid); !dropped) {
        return error(exit_usage, dropped.error().detail);
      }
      return run_outbox(settings);
    }
    if (chat_command->parsed()) return chat(settings, peer);
    if (text == "-") text.assign(std::istreambuf_iterator<char>(in_), std::istreambuf_iterator<char>());
    return send(settings, recipient, std::move(text));
  } catch (const std::exception& e) {
    return error(exit_usage, std::string("unexpected failure: ") + e.what());
  }
}

int sender_app::send(const sender_settings& settings, const std::string& recipient_text, std::string text,
                     std::optional<std::int64_t>* logged_id) {
  const auto& service = settings.service;
  auto recipient = identity::canonical_dns_name(recipient_text);
  if (!recipient) return error(exit_usage, "recipient '" + recipient_text + "': " + recipient.error().message());
  const bool ask_receipt = sealing_for(settings).request_receipt;
  if (settings.wait && !ask_receipt) {
    return error(exit_usage,
                 "--wait needs a receipt, and " +
                     std::string(settings.receipts ? "MESSAGE_FORMAT=compat (the original's format) has none"
                                                   : "RECEIPTS=0 asks for none"));
  }
  // The broker connection is made on the client's thread while the key is
  // read, the recipient looked up, the message sealed and logged: the
  // publish still waits for all of that, the connection does not.
  (void)std::signal(SIGPIPE, SIG_IGN);
  auto options = config::mqtt_client_options(service.mqtt, one_shot_client_id(settings));
  config::use_dane_admission(options, service);
  options.clean_session = true;
  // Each broker of a list gets its share of the timeout, so that a silent
  // first node leaves time for the others.
  options.connect_timeout =
      std::max(std::chrono::milliseconds(1000), settings.timeout / static_cast<int>(1 + options.more_brokers.size()));
  // Nothing listening, or a refused login, will not change within the
  // timeout: only a broker that does not answer is worth waiting for (every
  // broker of a list must have refused). Except a refused login with
  // MQTT_AUTH=dane: a broker that has not looked our name up yet refuses the
  // first login and admits the next one, once its lookup is done.
  options.give_up_when_refused = true;
  options.retry_refused_login = service.mqtt.dane_admission;
  mqtt::client client(options, [](std::vector<mqtt::message>&) { return ok(); });
  const auto started = client.start();  // a failure is reported where the broker is needed
  const auto deadline = std::chrono::steady_clock::now() + settings.timeout;
  auto parts = sending_parts_for(service);
  if (!parts) return error(exit_usage, parts.error().detail);
  const auto* me = &parts->me;
  const auto& peers = parts->peers;
  const auto sealing = sealing_for(settings);
  store::sent_entry logged;
  logged.recipient = *recipient;
  logged.text = text;
  logged.receipt_requested = ask_receipt;
  logged.queued_at = std::chrono::system_clock::now();
  auto sealed = jose::seal_note(jose::message_to_send{*recipient, std::move(text)}, *me, *peers, sealing);
  if (!sealed) {
    const auto code = exit_code_for_seal_failure(sealed.error());
    return error(code, (code == exit_recipient ? "recipient not usable: " : std::string()) + sealed.error().message());
  }
  const auto& wire = sealed->wire;
  logged.jti = sealed->jti;
  logged.note_digest = sealed->note_digest;
  const auto topic = config::topic_for(service.mqtt, *recipient);

  // The sent log, and with --queue the outbox: DATA_PATH/sender.db.
  std::optional<store::outbox> outbox;
  if (auto opened = open_outbox(settings); opened) {
    outbox.emplace(std::move(*opened));
  } else if (settings.queue || settings.wait) {
    return error(exit_usage, "outbox " + outbox_path(settings).string() + ": " + opened.error().message());
  } else {
    spdlog::warn("sent log {}: {}; this message is sent but not logged", outbox_path(settings).string(),
                 opened.error().message());
  }
  if (settings.queue) {
    auto waiting = outbox->size();
    if (waiting && *waiting > 0) {
      // Behind earlier queued messages: publishing now would overtake them.
      return queue_message(settings, *outbox, logged, std::nullopt, topic, wire,
                           std::to_string(*waiting) +
                               (*waiting == 1 ? " earlier message is" : " earlier messages are") +
                               " waiting in the outbox");
    }
  }

  // Logged before it is published: the receipt may come back before the
  // PUBACK. Not fsynced yet: nobody has been told of it; the published mark
  // (or the outbox entry) commits both in full, one fsync instead of two.
  std::optional<std::int64_t> sent_id;
  if (outbox) {
    if (auto id = outbox->record_sent(logged, nullptr, store::durability::normal); id) {
      sent_id = *id;
      if (logged_id != nullptr) *logged_id = *id;
    } else {
      spdlog::warn("sent log {}: {}", outbox_path(settings).string(), id.error().message());
    }
  }
  const auto failed = [&](const std::string& why) {
    if (settings.queue) return queue_message(settings, *outbox, logged, sent_id, topic, wire, why);
    if (sent_id) (void)outbox->forget_sent(*sent_id);
    return error(exit_broker, why);
  };

  if (!started) return error(exit_usage, "MQTT: " + started.error().message());
  if (!client.wait_connected(settings.timeout)) {
    const auto why = std::string(client.broker_count() > 1 ? "every broker (" : "broker ") +
                     config::broker_list_text(service.mqtt) + (client.broker_count() > 1 ? ")" : "") +
                     " unreachable: " + client.last_error();
    client.stop();
    return failed(why);
  }
  auto acknowledged = client.publish(topic, bytes_of(wire), service.mqtt.qos);
  std::string why;
  if (acknowledged.wait_until(deadline) != std::future_status::ready) {
    why = "no acknowledgement from the broker within " + std::to_string(settings.timeout.count()) + " ms";
  } else if (auto outcome = acknowledged.get(); !outcome) {
    why = outcome.error().message();
  }
  client.stop();
  if (!why.empty()) {
    // If the broker did get it, the queued copy is delivered too; the
    // receiver recognises the identical bytes and keeps one.
    return failed(why);
  }
  spdlog::info("message to {} acknowledged by the broker", *recipient);
  if (sent_id) {
    if (auto marked = outbox->mark_published(*sent_id, std::chrono::system_clock::now()); !marked) {
      spdlog::warn("sent log {}: {}", outbox_path(settings).string(), marked.error().message());
    }
  }
  out_ << "sent to " << *recipient << '\n';
  if (!settings.wait) return exit_success;
  if (!sent_id) return error(exit_usage, "--wait: the message is not in the sent log");
  return wait_for_receipt(settings, *outbox, *sent_id);
}

int sender_app::wait_for_receipt(const sender_settings& settings, store::outbox& outbox, std::int64_t sent_id) {
  // The receipt comes on this device's own topic: the device's receiver
  // (its persistent session) verifies it and records it in the sent log,
  // where this waits for it — no second subscriber to steal its session.
  const auto deadline = std::chrono::steady_clock::now() + settings.wait_timeout;
  std::string recipient;
  for (;;) {
    auto entry = outbox.sent_by_id(sent_id);
    if (!entry) return error(exit_usage, "sent log: " + entry.error().message());
    if (*entry) {
      recipient = (*entry)->recipient;
      if ((*entry)->delivered_at) {
        out_ << "delivered to " << recipient << '\n';
        return exit_success;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return error(exit_unconfirmed,
               "published to " + recipient + ", not confirmed: no receipt within " +
                   std::to_string(std::chrono::duration_cast<std::chrono::seconds>(settings.wait_timeout).count()) +
                   " s (SEND_WAIT_TIMEOUT); the receipt is recorded by this device's running danemq-receiver");
}

int sender_app::queue_message(const sender_settings& settings, store::outbox& outbox, const store::sent_entry& logged,
                              std::optional<std::int64_t> sent_id, const std::string& topic, const std::string& wire,
                              const std::string& why) {
  store::outbox_entry entry;
  entry.recipient = logged.recipient;
  entry.topic = topic;
  entry.payload = bytes_of(wire);
  entry.created_at = std::chrono::system_clock::now();
  std::int64_t outbox_id = 0;
  if (sent_id) {
    auto queued = outbox.queue_sent(*sent_id, entry);
    if (!queued) {
      return error(exit_broker, why + "; and it could not be queued in " + outbox_path(settings).string() + ": " +
                                    queued.error().message());
    }
    outbox_id = *queued;
  } else {
    auto id = outbox.record_sent(logged, &entry);
    if (!id) {
      return error(exit_broker, why + "; and it could not be queued in " + outbox_path(settings).string() + ": " +
                                    id.error().message());
    }
    sent_id = *id;
    auto recorded = outbox.sent_by_id(*id);
    if (recorded && *recorded && (*recorded)->outbox_id) outbox_id = *(*recorded)->outbox_id;
  }
  out_ << "queued for " << logged.recipient << " (outbox #" << outbox_id << "): " << why << '\n';
  if (settings.wait) return wait_for_receipt(settings, outbox, *sent_id);
  return exit_success;
}

int sender_app::list_sent(const sender_settings& settings, const std::optional<std::string>& to,
                          const std::optional<std::string>& since, std::size_t limit, bool json) {
  store::sent_filter filter;
  filter.limit = limit;
  if (to) {
    auto name = identity::canonical_dns_name(*to);
    if (!name) return error(exit_usage, "--to '" + *to + "': " + name.error().message());
    filter.to = *name;
  }
  if (since) {
    auto from = config::parse_since(*since, std::chrono::system_clock::now());
    if (!from) return error(exit_usage, from.error().detail);
    filter.since = *from;
  }
  const auto path = outbox_path(settings);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return error(exit_usage, "no sender database at " + path.string() + " (DATA_PATH): nothing was sent from here");
  }
  auto db = store::outbox::open(path, store::open_options{.read_only = true});
  if (!db) return error(exit_usage, "sent log " + path.string() + ": " + db.error().message());
  auto rows = db->list_sent(filter);
  if (!rows) return error(exit_usage, "sent log " + path.string() + ": " + rows.error().message());
  const auto time_or_null = [](const std::optional<std::chrono::system_clock::time_point>& at) {
    return at ? nlohmann::json(config::iso_time(*at)) : nlohmann::json(nullptr);
  };
  for (const auto& row : *rows) {
    if (json) {
      const nlohmann::json object = {
          {"id", row.id},
          {"recipient", row.recipient},
          {"state", row.state()},
          {"queued_at", config::iso_time(row.queued_at)},
          {"published_at", time_or_null(row.published_at)},
          {"delivered_at", time_or_null(row.delivered_at)},
          {"receipt_requested", row.receipt_requested},
          {"jti", row.jti ? nlohmann::json(*row.jti) : nlohmann::json(nullptr)},
          {"outbox_id", row.outbox_id ? nlohmann::json(*row.outbox_id) : nlohmann::json(nullptr)},
          {"message", row.text},
      };
      out_ << object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    } else {
      const auto& when = row.delivered_at ? *row.delivered_at : row.published_at ? *row.published_at : row.queued_at;
      out_ << "#" << row.id << " " << config::iso_time(row.queued_at) << " to "
           << core::escape_for_display(row.recipient) << " " << row.state() << " " << config::iso_time(when) << ": "
           << core::escape_for_display(row.text) << '\n';
    }
  }
  return exit_success;
}

result<store::outbox> sender_app::open_existing_outbox(const sender_settings& settings, bool read_only) {
  const auto path = outbox_path(settings);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return fail(store::errc::not_found, "no database at " + path.string() +
                                            " (DATA_PATH wrong, or nothing was ever queued with this DATA_PATH)");
  }
  auto opened = store::outbox::open(path, store::open_options{.read_only = read_only});
  if (!opened) return fail(opened.error().code, "cannot open " + path.string() + ": " + opened.error().message());
  return opened;
}

int sender_app::list_outbox(const sender_settings& settings, bool json) {
  auto outbox = open_existing_outbox(settings, true);
  if (!outbox) return error(exit_usage, outbox.error().detail);
  auto entries = outbox->oldest();
  if (!entries) return error(exit_usage, "cannot read the outbox: " + entries.error().message());
  const auto now = std::chrono::system_clock::now();
  for (const auto& entry : *entries) {
    out_ << (json ? outbox_json(entry, now, settings.max_age) : outbox_line(entry, now, settings.max_age)) << '\n';
  }
  out_.flush();
  return exit_success;
}

int sender_app::cancel_outbox(const sender_settings& settings, const std::vector<std::int64_t>& ids) {
  auto outbox = open_existing_outbox(settings, false);
  if (!outbox) return error(exit_usage, outbox.error().detail);
  int code = exit_success;
  for (const auto id : ids) {
    // A message already in flight in `run` may still be delivered: removed
    // here, its acknowledgement finds nothing to remove.
    if (auto removed = outbox->cancel(id); removed) {
      out_ << "cancelled #" << id << '\n';
    } else if (removed.error().code == make_error_code(store::errc::not_found)) {
      code = error(exit_usage, "no outbox entry #" + std::to_string(id) + " (delivered or cancelled already?)");
    } else {
      code = error(exit_usage, "#" + std::to_string(id) + ": " + removed.error().message());
    }
  }
  return code;
}

int sender_app::retry_outbox(const sender_settings& settings) {
  auto outbox = open_existing_outbox(settings, false);
  if (!outbox) return error(exit_usage, outbox.error().detail);
  if (auto requested = outbox->request_retry(); !requested) {
    return error(exit_usage, "cannot ask for a retry: " + requested.error().message());
  }
  out_ << "retry requested: a running `run` tries again within OUTBOX_POLL_INTERVAL (" +
              config::format_duration(settings.poll_interval) + ")\n";
  return exit_success;
}

int sender_app::run_outbox(const sender_settings& settings) {
  auto outbox = open_outbox(settings);
  if (!outbox) return error(exit_usage, "outbox " + outbox_path(settings).string() + ": " + outbox.error().message());
  outbox_runner runner(settings, *outbox);
  return runner.run();
}

}  // namespace danemq::sender
