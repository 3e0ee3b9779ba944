// The fuzz target's seed corpus stays real: every message in
// tests/fuzz/corpus/message/ opens (or, for the inner JWS, parses and
// verifies) with the committed test keys, so a format change that breaks
// the seeds fails here rather than silently weakening the fuzzing.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "danemq/jose/jws.hpp"
#include "danemq/jose/message.hpp"
#include "fuzz/message_parties.hpp"

namespace danemq::jose {
namespace {

namespace fs = std::filesystem;
const fs::path corpus = fs::path(DANEMQ_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "message";

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(MessageFuzzCorpus, EverySeedIsARealMessageOfItsKind) {
  fuzz::message_parties parties(DANEMQ_SOURCE_DIR "/tests/fuzz/keys");
  open_options options;
  options.now = fuzz::corpus_time;
  options.accept_legacy = true;
  int messages = 0;
  int signed_texts = 0;
  for (const auto& entry : fs::directory_iterator(corpus)) {
    const std::string name = entry.path().filename().string();
    const std::string text = read(entry.path());
    // <origin>-<sender kind>-to-<recipient kind>-<format>-<serialization>
    const bool to_ec = name.find("-to-ec-") != std::string::npos;
    if (name.rfind("jws-", 0) == 0) {
      auto jws = parse_jws(text);
      ASSERT_TRUE(jws) << name << ": " << jws.error().message();
      const std::string signer = name.rfind("jws-ec-", 0) == 0 ? "erin.example" : "alice.example";
      EXPECT_TRUE(verify_jws(*jws, *parties.keys.at(signer))) << name;
      ++signed_texts;
      continue;
    }
    auto opened = open(text, parties.local(to_ec ? "frank.example" : "bob.example"), parties.dns, options);
    ASSERT_TRUE(opened) << name << ": " << opened.error().message();
    EXPECT_EQ(opened->legacy, name.find("-v2-") == std::string::npos) << name;
    EXPECT_EQ(opened->outer_form,
              name.find("compact") != std::string::npos ? serialization::compact : serialization::flattened_json)
        << name;
    ++messages;
  }
  EXPECT_EQ(messages, 16 + 5);  // danemq's 16 kinds, the original's 5
  EXPECT_EQ(signed_texts, 16);
}

}  // namespace
}  // namespace danemq::jose
