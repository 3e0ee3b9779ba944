// Writes the seed corpus of jose_message_fuzz: danemq messages of every kind
// (compat and v2 format; RSA and EC senders and recipients; flattened JSON
// and compact), and the signed JWS inside each, sealed with the committed
// test keys at fuzz::corpus_time. The original's own messages (jwcrypto) are
// added by tests/fuzz/make_message_corpus.sh.
//
// Usage: jose_message_corpus <out-dir>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "danemq/jose/jwe.hpp"
#include "danemq/jose/message.hpp"
#include "message_parties.hpp"

int main(int argc, char** argv) {
  using namespace danemq::jose;
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " <out-dir>\n";
    return 2;
  }
  const std::filesystem::path out(argv[1]);
  std::filesystem::create_directories(out);
  fuzz::message_parties parties(DANEMQ_SOURCE_DIR "/tests/fuzz/keys");
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(out / name) << text;
    std::cout << name << "\n";
  };
  for (const auto& [sender, sender_kind] : {std::pair{"alice.example", "rsa"}, std::pair{"erin.example", "ec"}}) {
    for (const auto& [recipient, recipient_kind] :
         {std::pair{"bob.example", "rsa"}, std::pair{"frank.example", "ec"}}) {
      for (const auto format : {message_format::compat, message_format::v2}) {
        for (const auto form : {serialization::flattened_json, serialization::compact}) {
          seal_options options;
          options.format = format;
          options.form = form;
          options.now = fuzz::corpus_time;
          const std::string text = std::string("seed message from ") + sender + " to " + recipient + " ✓";
          auto wire = seal({recipient, text}, parties.local(sender), parties.dns, options);
          if (!wire) {
            std::cerr << wire.error().message() << "\n";
            return 1;
          }
          const std::string name = std::string(sender_kind) + "-to-" + recipient_kind + "-" +
                                   (format == message_format::v2 ? "v2" : "compat") + "-" +
                                   (form == serialization::compact ? "compact" : "json");
          write("danemq-" + name, *wire);
          auto jwe = parse_jwe(*wire, 1 << 16, 1 << 16);
          auto jws = jwe ? decrypt_jwe(*jwe, *parties.keys.at(recipient), 1 << 16) : jwe.error();
          if (!jws) {
            std::cerr << jws.error().message() << "\n";
            return 1;
          }
          write("jws-" + name, *jws);
        }
      }
    }
  }
  return 0;
}
