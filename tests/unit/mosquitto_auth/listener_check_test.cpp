#include "listener_check.hpp"

#include <gtest/gtest.h>

namespace danemq::mosquitto_auth {
namespace {

TEST(ListenerCheck, NamesTheListenersWithoutTls) {
  EXPECT_EQ(plaintext_listeners("listener 1883 127.0.0.1\nlistener 8883\ncertfile /x.crt\nkeyfile /x.key\n"),
            std::vector<std::string>{"listener 1883 127.0.0.1"});
  EXPECT_TRUE(plaintext_listeners("# comment\nlistener 8883\ncertfile /x.crt\nlistener 8884\npsk_hint h\n").empty());
  EXPECT_EQ(plaintext_listeners("allow_anonymous false\n"), std::vector<std::string>{"the default listener"});
}

}  // namespace
}  // namespace danemq::mosquitto_auth
