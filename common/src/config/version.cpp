#include "danemq/config/version.hpp"

#include <cjose/version.h>
#include <ldns/util.h>
#include <mosquitto.h>
#include <openssl/crypto.h>

#include "build_info.hpp"

namespace danemq::config {

std::string version_text(std::string_view program) {
  int major = 0;
  int minor = 0;
  int revision = 0;
  (void)mosquitto_lib_version(&major, &minor, &revision);
  std::string text = std::string(program) + " " + DANEMQ_VERSION + " (commit " + DANEMQ_GIT_COMMIT + ")\n";
  text += std::string("OpenSSL: ") + OpenSSL_version(OPENSSL_VERSION) + "\n";
  text +=
      "libmosquitto: " + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(revision) + "\n";
  text += std::string("ldns: ") + ldns_version() + "\n";
  text += std::string("cjose: ") + cjose_version() + "\n";
  return text;
}

}  // namespace danemq::config
