// danemq-sender: parse configuration, build the app, run it.
#include <iostream>

#include "sender_app.hpp"

int main(int argc, char** argv) {
  danemq::sender::sender_app app(std::cout, std::cerr, std::cin);
  return app.run(argc, argv);
}
