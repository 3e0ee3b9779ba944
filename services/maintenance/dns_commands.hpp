#pragma once
// The DNS subcommands of danemq-maintenance:
//   check                what DNS publishes for the local identity, and
//                        whether it matches the local certificate securely;
//                        exit 0 only when it does.
//   lookup <name>        the same report for any name (to debug a peer).
//   publish-tlsa         publish the identity's TLSA record by RFC 2136
//                        dynamic update signed with TSIG (DNS_UPDATE_SERVER,
//                        DNS_UPDATE_TSIG), replacing only this identity's
//                        TLSA RRset.
// Settings (each also a flag): DNS_RESOLVER, DNSSEC_VALIDATION,
// DNSSEC_TRUST_ANCHOR, DNS_TIMEOUT_MS, DNS_RETRIES, PKIX_CD,
// PKIX_CD_CA_BUNDLE, PKIX_CD_HTTPS_PORT, DNS_UPDATE_SERVER, DNS_UPDATE_TSIG.

#include "maintenance_app.hpp"

namespace danemq::maintenance {

/// Adds check, lookup and publish-tlsa (and their settings) to the app's CLI.
void register_dns_commands(maintenance_app& app);

}  // namespace danemq::maintenance
