#pragma once
// Private to the mqtt module: libmosquitto's C callbacks, static functions
// that cast their `void* context` back to the client and hand off to it. They
// run on the client's network thread, inside loop_read/loop_write.

#include <mosquitto.h>

#include "danemq/mqtt/client.hpp"

namespace danemq::mqtt {

struct client::callbacks {
  static void on_connect(mosquitto* handle, void* context, int rc, int flags, const mosquitto_property* props);
  static void on_subscribe(mosquitto* handle, void* context, int mid, int count, const int* granted,
                           const mosquitto_property* props);
  static void on_message(mosquitto* handle, void* context, const mosquitto_message* msg,
                         const mosquitto_property* props);
  static void on_publish(mosquitto* handle, void* context, int mid, int reason, const mosquitto_property* props);
  static void on_log(mosquitto* handle, void* context, int level, const char* text);
};

}  // namespace danemq::mqtt
