// audit/cert_info.hpp: [pure] the facts the auditor needs from a server's certificate chain (DER from the wire).
// SPDX-License-Identifier: MIT
// Untrusted input: the certificates a remote server sent. OpenSSL decodes the DER (d2i_X509 with an exact
// length check); we only read fields out of it, bounded (at most 64 SAN names, names cut at 255 bytes).
// Chain trust against the system roots is decided at the handshake (SSL_get_verify_result) by the probe;
// here: names, validity, self-signature, key size and the hostname match (RFC 6125 via X509_check_host).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::audit {

struct cert_info {
  std::string subject;  // one-line RFC 2253 form
  std::string issuer;
  std::string common_name;             // the subject's CN (last one), empty when none
  std::vector<std::string> dns_names;  // SAN dNSName entries
  std::int64_t not_before = 0;         // unix seconds
  std::int64_t not_after = 0;
  bool self_issued = false;  // subject == issuer
  bool self_signed = false;  // and the signature verifies with its own key
  std::string key_type;      // "RSA", "EC", "ED25519", ...
  int key_bits = 0;
  std::string signature_algorithm;  // "sha256WithRSAEncryption"
};

// Decodes one DER certificate. nullopt when it is not exactly one valid certificate.
std::optional<cert_info> parse_certificate(std::string_view der);

// Does the certificate name host (RFC 6125: SAN dNSName, CN only when no SAN, wildcard in the leftmost label)?
bool certificate_matches_host(std::string_view der, std::string_view host);

// Days from now until not_after, rounded down (negative once expired).
std::int64_t days_left(const cert_info& c, std::int64_t now);

}  // namespace mailfort::audit
