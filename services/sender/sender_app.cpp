#include "sender_app.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <random>
#include <vector>

#include "danemq/config/cli_binding.hpp"
#include "danemq/config/connections.hpp"
#include "danemq/identity/dns_name.hpp"
#include "danemq/identity/identity_files.hpp"
#include "danemq/jose/message.hpp"
#include "danemq/log/log.hpp"
#include "danemq/runtime/setting_wait.hpp"

namespace danemq::sender {
namespace {

result<store::outbox> open_outbox(const sender_settings& settings) {
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
    cli.footer(
        "Exit codes: 0 acknowledged by the broker (or queued with --queue); 1 usage or configuration; 2 recipient "
        "identity not usable (no TLSA, not DNSSEC-secure, bad key); 3 broker unreachable or publish not acknowledged.");
    config::option_binding<sender_settings> binding(cli, sender_options());
    std::string recipient;
    std::string text;
    auto* send_command = cli.add_subcommand("send", "sign, encrypt and publish one message (alias: send_message)");
    send_command->add_option("recipient", recipient, "the recipient's identity (DNS name)")->required();
    send_command->add_option("message", text, "the message, or - to read it from standard input")->required();
    auto* run_command = cli.add_subcommand("run", "deliver the outbox in order whenever the broker is reachable");
    std::vector<const char*> pointers;
    pointers.reserve(args.size());
    for (const auto& arg : args) pointers.push_back(arg.c_str());
    try {
      cli.parse(static_cast<int>(pointers.size()), pointers.data());
    } catch (const CLI::ParseError& e) {
      return cli.exit(e, out_, err_) == 0 ? exit_success : exit_usage;
    }
    sender_settings settings;
    // `run` is long-running: without a required setting it waits rather than
    // exit into a restart loop; `send` exits.
    const auto missing_in_run = [&](const failure& why) {
      return run_command->parsed() && why.code == make_error_code(config::errc::missing_setting);
    };
    if (auto applied = binding.apply(settings); !applied) {
      if (missing_in_run(applied.error())) return wait_for_setting(applied.error().detail);
      return error(exit_usage, applied.error().detail);
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
    if (text == "-") text.assign(std::istreambuf_iterator<char>(in_), std::istreambuf_iterator<char>());
    return send(settings, recipient, std::move(text));
  } catch (const std::exception& e) {
    return error(exit_usage, std::string("unexpected failure: ") + e.what());
  }
}

int sender_app::send(const sender_settings& settings, const std::string& recipient_text, std::string text) {
  const auto& service = settings.service;
  auto recipient = identity::canonical_dns_name(recipient_text);
  if (!recipient) return error(exit_usage, "recipient '" + recipient_text + "': " + recipient.error().message());
  auto me = identity::load_local_identity(service.crypto_path, service.identity_name);
  if (!me) return error(exit_usage, "local identity in " + service.crypto_path.string() + ": " + me.error().message());
  std::shared_ptr<dane::identity_source> peers = dependencies_.peers;
  if (!peers) {
    auto discovery = config::make_discovery(service);
    if (!discovery) return error(exit_usage, discovery.error().detail);
    peers = *discovery;
  }
  jose::seal_options sealing;
  sealing.format = settings.format;
  sealing.max_message_size = service.max_message_size;
  auto wire = jose::seal(jose::message_to_send{*recipient, std::move(text)}, *me, *peers, sealing);
  if (!wire) {
    const auto code = exit_code_for_seal_failure(wire.error());
    return error(code, (code == exit_recipient ? "recipient " + *recipient + " not usable: " : std::string()) +
                           wire.error().message());
  }
  const auto topic = config::topic_for(service.mqtt, *recipient);

  std::optional<store::outbox> outbox;
  if (settings.queue) {
    auto opened = open_outbox(settings);
    if (!opened) return error(exit_usage, "outbox " + outbox_path(settings).string() + ": " + opened.error().message());
    outbox.emplace(std::move(*opened));
    auto waiting = outbox->size();
    if (waiting && *waiting > 0) {
      // Behind earlier queued messages: publishing now would overtake them.
      return queue_message(settings, *outbox, *recipient, topic, *wire,
                           std::to_string(*waiting) + " earlier messages are waiting in the outbox");
    }
  }

  (void)std::signal(SIGPIPE, SIG_IGN);
  auto options = config::mqtt_client_options(service.mqtt, one_shot_client_id(settings));
  options.clean_session = true;
  options.connect_timeout = settings.timeout;
  mqtt::client client(options, [](std::vector<mqtt::message>&) { return ok(); });
  if (auto started = client.start(); !started) return error(exit_usage, "MQTT: " + started.error().message());
  const auto deadline = std::chrono::steady_clock::now() + settings.timeout;
  if (!client.wait_connected(settings.timeout)) {
    const auto why = "broker " + service.mqtt.host + ":" + std::to_string(service.mqtt.port) +
                     " unreachable: " + client.last_error();
    client.stop();
    if (outbox) return queue_message(settings, *outbox, *recipient, topic, *wire, why);
    return error(exit_broker, why);
  }
  auto acknowledged = client.publish(topic, bytes_of(*wire), service.mqtt.qos);
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
    if (outbox) return queue_message(settings, *outbox, *recipient, topic, *wire, why);
    return error(exit_broker, why);
  }
  spdlog::info("message to {} acknowledged by the broker", *recipient);
  out_ << "sent to " << *recipient << '\n';
  return exit_success;
}

int sender_app::queue_message(const sender_settings& settings, store::outbox& outbox, const std::string& recipient,
                              const std::string& topic, const std::string& wire, const std::string& why) {
  store::outbox_entry entry;
  entry.recipient = recipient;
  entry.topic = topic;
  entry.payload = bytes_of(wire);
  entry.created_at = std::chrono::system_clock::now();
  auto id = outbox.enqueue(entry);
  if (!id) {
    return error(exit_broker, why + "; and it could not be queued in " + outbox_path(settings).string() + ": " +
                                  id.error().message());
  }
  out_ << "queued for " << recipient << " (outbox #" << *id << "): " << why << '\n';
  return exit_success;
}

int sender_app::run_outbox(const sender_settings& settings) {
  auto outbox = open_outbox(settings);
  if (!outbox) return error(exit_usage, "outbox " + outbox_path(settings).string() + ": " + outbox.error().message());
  outbox_runner runner(settings, *outbox);
  return runner.run();
}

}  // namespace danemq::sender
