// danemq-receiver: parse configuration, build the app, run it.
#include <iostream>

#include "receiver_app.hpp"

int main(int argc, char** argv) {
  danemq::receiver::receiver_app app(std::cout, std::cerr);
  return app.run(argc, argv);
}
