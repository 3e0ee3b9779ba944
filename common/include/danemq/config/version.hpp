#pragma once
// What `--version` prints: danemq's version and the git commit it was built
// from (taken by CMake at configure time), and the versions of the libraries
// that do the cryptography, MQTT and DNS at run time (which a distribution
// may update without rebuilding danemq).

#include <string>
#include <string_view>

namespace danemq::config {

/// "<program> <version> (commit <hash>)" then one line per library:
/// OpenSSL, libmosquitto, ldns, cjose.
[[nodiscard]] std::string version_text(std::string_view program);

}  // namespace danemq::config
