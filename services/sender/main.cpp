// danemq-sender: parse configuration, build the app, run it.
#include <openssl/crypto.h>

#include <iostream>

#include "danemq/crypto/openssl.hpp"

#include "sender_app.hpp"

// g++ says __SANITIZE_ADDRESS__, clang __has_feature (which g++ 12 lacks).
#if defined(__SANITIZE_ADDRESS__)
#define DANEMQ_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DANEMQ_ADDRESS_SANITIZER 1
#endif
#endif
#ifndef DANEMQ_ADDRESS_SANITIZER
#define DANEMQ_ADDRESS_SANITIZER 0
#endif

int main(int argc, char** argv) {
  // No OpenSSL clean-up at exit: freeing its tables one by one is a good part
  // of a one-off send's CPU time, and the process's memory goes anyway (the
  // keys were freed, and cleansed, when their owners went). Under
  // AddressSanitizer the clean-up stays, so that its leak check sees only
  // what we forgot to free.
#if !DANEMQ_ADDRESS_SANITIZER
  (void)OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
#endif
  // Private keys are parsed into OpenSSL's secure heap (locked, guarded, not
  // in core dumps) from the start.
  (void)danemq::crypto::enable_secure_heap();
  (void)danemq::crypto::keep_out_of_core_dumps();
  danemq::sender::sender_app app(std::cout, std::cerr, std::cin);
  return app.run(argc, argv);
}
