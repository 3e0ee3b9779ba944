#pragma once
// DNS URIs (RFC 4501) naming a TLSA RRset: how a JOSE header's `x5u` and
// danemq's `aud` claim point at an identity.

#include <string>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/jose/errors.hpp"

namespace danemq::jose {

/// "dns:<name>?type=TLSA": the RFC 4501 form that danemq's v2 format writes.
[[nodiscard]] std::string dns_uri(std::string_view name);

/// "dns://<name>?type=TLSA": what the original writes (by RFC 4501's grammar
/// the name sits in the authority slot; the original reads it back as the last
/// '/'-separated part). The compat format writes this form.
[[nodiscard]] std::string original_dns_uri(std::string_view name);

/// The canonical DNS name (lowercase, no final dot) a TLSA DNS URI points to.
/// Accepts "dns:<name>", "dns://<name>" (the original's) and
/// "dns://<authority>/<name>" (the authority, a resolver hint, is ignored),
/// each followed by "?type=TLSA" (case-insensitive). Failure bad_format for
/// anything else: other schemes, other query parameters, percent-encoding, an
/// invalid name.
[[nodiscard]] result<std::string> name_from_dns_uri(std::string_view uri);

/// The recipient named by an `aud` claim: a DNS URI as above or a bare DNS
/// name. Failure bad_format.
[[nodiscard]] result<std::string> name_from_audience(std::string_view aud);

}  // namespace danemq::jose
