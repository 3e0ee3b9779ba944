// danemq-receiver: parse configuration, build the app, run it.
#include <malloc.h>

#include <iostream>

#include "danemq/crypto/openssl.hpp"

#include "receiver_app.hpp"

int main(int argc, char** argv) {
  // glibc gives each thread that allocates its own arena (up to eight per
  // core), and each keeps the memory its thread freed: with the workers, the
  // committer and the network thread that was most of the receiver's private
  // memory. Two arenas measure no slower (the threads cache small blocks).
  (void)mallopt(M_ARENA_MAX, 2);
  // Private keys are parsed into OpenSSL's secure heap (locked, guarded, not
  // in core dumps) from the start.
  (void)danemq::crypto::enable_secure_heap();
  (void)danemq::crypto::keep_out_of_core_dumps();
  danemq::receiver::receiver_app app(std::cout, std::cerr);
  return app.run(argc, argv);
}
