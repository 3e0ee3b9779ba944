// The load test of issue 6, full size: 50 sender identities, 10,000 messages
// in all, each sender a `danemq-sender run` process with its outbox, to one
// danemq-receiver through a local Mosquitto (persistence saved every 5 s, as
// deployed), real DNSSEC-signed DNS, with 5 broker SIGKILLs and 2
// receiver SIGKILLs spread over the run. Prints sent, acknowledged, in inbox,
// duplicates, quarantined, lost, throughput and the receiver's peak RSS;
// exits 0 only when lost = duplicates = quarantined = 0.
//
// Usage: load_bench [messages 10000] [senders 50] [broker restarts 5] [receiver kills 2] [rsa] [save-every-change]
// (`rsa`: RSA-2048 identities instead of EC P-256; `save-every-change`: the
// broker saves its persistence after every change instead of every 5 s.)

#include <cstdlib>
#include <iostream>
#include <string>

#include "support/load_run.hpp"

int main(int argc, char** argv) {
  danemq::load::load_options options;
  const auto number = [&](int at, std::size_t fallback) {
    return argc > at ? static_cast<std::size_t>(std::strtoul(argv[at], nullptr, 10)) : fallback;
  };
  options.messages = number(1, options.messages);
  options.senders = number(2, options.senders);
  options.broker_restarts = number(3, options.broker_restarts);
  options.receiver_kills = number(4, options.receiver_kills);
  for (int at = 5; at < argc; ++at) {
    const std::string word = argv[at];
    if (word == "rsa") options.key_type = danemq::identity::key_type::rsa_2048;
    if (word == "save-every-change") options.broker_autosave_seconds = 0;
  }
  if (options.messages == 0 || options.senders == 0) {
    std::cerr << "usage: " << argv[0]
              << " [messages] [senders] [broker restarts] [receiver kills] [rsa] [save-every-change]\n";
    return 2;
  }
  try {
    const auto report = danemq::load::run_load(options, std::cout);
    std::cout << "\nload test: " << options.senders << " senders, " << options.messages << " messages, "
              << options.broker_restarts << " broker restarts, " << options.receiver_kills << " receiver SIGKILLs\n"
              << report;
    return report.passed() ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "load_bench: " << e.what() << "\n";
    return 2;
  }
}
