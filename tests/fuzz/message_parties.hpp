#pragma once
// The fixed identities of the message fuzz target and of its seed corpus:
// test-only keys committed under tests/fuzz/keys/, so that the corpus
// messages decrypt and verify in every run (RSA: alice, bob; EC: erin, frank).

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

#include "danemq/crypto/openssl.hpp"
#include "support/jose_test_support.hpp"

namespace danemq::jose::fuzz {

/// The time the corpus's v2 messages were sealed at, and the fuzz target opens at.
inline const std::chrono::system_clock::time_point corpus_time{std::chrono::seconds(1'750'000'000)};

inline const char* const party_names[] = {"alice.example", "bob.example", "erin.example", "frank.example"};

struct message_parties {
  std::map<std::string, crypto::unique_evp_pkey> keys;
  test::fake_identity_source dns;

  explicit message_parties(const std::string& key_dir) {
    for (const char* name : party_names) {
      std::ifstream in(key_dir + "/" + name + ".key.pem");
      std::stringstream pem;
      pem << in.rdbuf();
      auto key = crypto::private_key_from_pem(pem.str());
      if (!key) throw std::runtime_error(std::string(name) + ": " + key.error().message());
      keys[name] = std::move(key).value();
      dns.publish(name, {keys[name].get()});
    }
  }

  [[nodiscard]] identity::local_identity local(const std::string& name) const {
    return test::local(name, *keys.at(name));
  }
};

}  // namespace danemq::jose::fuzz
