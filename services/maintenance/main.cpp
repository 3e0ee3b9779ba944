// danemq-maintenance: parse configuration, build the app, run it.
#include <iostream>

#include "danemq/crypto/openssl.hpp"

#include "maintenance_app.hpp"

int main(int argc, char** argv) {
  // Private keys are parsed into OpenSSL's secure heap (locked, guarded, not
  // in core dumps) from the start.
  (void)danemq::crypto::enable_secure_heap();
  (void)danemq::crypto::keep_out_of_core_dumps();
  danemq::maintenance::maintenance_app app(std::cout, std::cerr);
  return app.run(argc, argv);
}
