#include "danemq/dane/identity_source.hpp"

#include "danemq/dane/trust.hpp"

namespace danemq::dane {

result<trusted_key> identity_source::confirm_certificate(std::string_view name, const X509& certificate) {
  auto identity = discover(name);
  if (!identity) return identity.error();
  return confirm_presented_certificate(**identity, certificate, std::chrono::system_clock::now());
}

}  // namespace danemq::dane
