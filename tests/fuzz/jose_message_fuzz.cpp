// libFuzzer target for the message parser: every input goes through the
// strict JWE and JWS parsers and through open() for an RSA and an EC
// recipient. Nothing may crash, leak, hit UB or throw; every refusal must be
// a jose error. Seed corpus: tests/fuzz/corpus/message/ (real messages of
// every kind, and the JWS inside each).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "danemq/jose/jwe.hpp"
#include "danemq/jose/jws.hpp"
#include "danemq/jose/message.hpp"
#include "message_parties.hpp"

namespace {

using namespace danemq::jose;

struct fixture {
  fuzz::message_parties parties{DANEMQ_SOURCE_DIR "/tests/fuzz/keys"};
  danemq::identity::local_identity bob = parties.local("bob.example");
  danemq::identity::local_identity frank = parties.local("frank.example");
};

fixture& shared() {
  static fixture instance;
  return instance;
}

void check_refusal(const danemq::failure& error) {
  // A refusal is one of ours, never another library's code leaking through.
  if (error.code.category() != jose_category()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& f = shared();
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto jwe = parse_jwe(input, 1 << 16, 1 << 16); !jwe) check_refusal(jwe.error());
  if (auto jws = parse_jws(input); !jws) check_refusal(jws.error());

  open_options options;
  options.now = fuzz::corpus_time;
  options.accept_legacy = true;
  for (const auto* me : {&f.bob, &f.frank}) {
    in_memory_replay_memory replay;
    auto opened = open(input, *me, f.parties.dns, options, &replay);
    if (!opened) {
      check_refusal(opened.error());
      continue;
    }
    // What opens is addressed to us, verified and fresh.
    if (opened->recipient != me->name || opened->text.size() > options.max_plaintext_size) std::abort();
  }
  return 0;
}
