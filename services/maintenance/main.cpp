// danemq-maintenance: parse configuration, build the app, run it.
#include <iostream>

#include "maintenance_app.hpp"

int main(int argc, char** argv) {
  danemq::maintenance::maintenance_app app(std::cout, std::cerr);
  return app.run(argc, argv);
}
