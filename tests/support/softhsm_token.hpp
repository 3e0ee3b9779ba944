#pragma once
// A SoftHSM2 token of its own for a test: a private softhsm2.conf and token
// directory under a temporary directory, one token initialized with
// softhsm2-util (label "danemq"), and a PIN file of mode 0600. The
// environment it gives (SOFTHSM2_CONF, PKCS11_MODULE, PKCS11_PIN_FILE) is
// what a danemq service needs to use keys in it; SOFTHSM2_CONF is also set
// in this process, for in-process checks through the same module.

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

#include "support/process.hpp"

namespace danemq::test {

class softhsm_token {
 public:
  static constexpr const char* module = "/usr/lib/softhsm/libsofthsm2.so";
  static constexpr const char* label = "danemq";
  static constexpr const char* pin = "26041999";

  /// True when SoftHSM2 (its module and softhsm2-util) is installed.
  [[nodiscard]] static bool available() {
    return std::filesystem::exists(module) && std::filesystem::exists("/usr/bin/softhsm2-util");
  }

  softhsm_token() {
    std::filesystem::create_directories(root_.path() / "tokens");
    {
      std::ofstream conf(config());
      conf << "directories.tokendir = " << (root_.path() / "tokens").string() << "\n"
           << "objectstore.backend = file\nlog.level = ERROR\n";
    }
    write_pin_file(pin_file(), pin);
    ::setenv("SOFTHSM2_CONF", config().c_str(), 1);
    const auto initialized = run_command(
        {"/usr/bin/softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "11223344"},
        {{"SOFTHSM2_CONF", config().string()}});
    if (initialized.exit_code != 0) throw std::runtime_error("softhsm2-util: " + initialized.out + initialized.err);
  }

  [[nodiscard]] std::filesystem::path config() const { return root_.path() / "softhsm2.conf"; }
  [[nodiscard]] std::filesystem::path pin_file() const { return root_.path() / "pin"; }
  [[nodiscard]] std::filesystem::path directory() const { return root_.path(); }

  /// "pkcs11:token=danemq;object=<object>".
  [[nodiscard]] static std::string uri(const std::string& object) {
    return std::string("pkcs11:token=") + label + ";object=" + object;
  }

  /// The environment of a service whose identity key is `object` in this token.
  [[nodiscard]] std::map<std::string, std::string> env(const std::string& object) const {
    return {{"SOFTHSM2_CONF", config().string()},
            {"PKCS11_MODULE", module},
            {"PKCS11_PIN_FILE", pin_file().string()},
            {"IDENTITY_KEY_URI", uri(object)}};
  }

  /// Writes a PIN file of mode 0600.
  static void write_pin_file(const std::filesystem::path& path, const std::string& text) {
    {
      std::ofstream file(path, std::ios::trunc);
      file << text << "\n";
    }
    ::chmod(path.c_str(), 0600);
  }

 private:
  temp_dir root_{"danemq-softhsm"};
};

}  // namespace danemq::test
