// outbound/dane.hpp: [pure] DANE for SMTP (RFC 6698, 7671, 7672): TLSA matching against a peer chain, TLSA records from
// a certificate. SPDX-License-Identifier: MIT Untrusted input: the TLSA records (DNSSEC-validated by the caller: only a
// secure RRset may be used, RFC 7672 2.2) and the certificate chain the remote server presented. No I/O; OpenSSL does
// DER decoding, hashing and the chain verification for DANE-TA. Rules implemented (RFC 7672 3.1): usages 0 (PKIX-TA)
// and 1 (PKIX-EE) are unusable for SMTP; usage 3 (DANE-EE) matches the leaf certificate or its SubjectPublicKeyInfo,
// with no name check and no validity- period check (3.1.1); usage 2 (DANE-TA) matches a certificate of the chain above
// the leaf, then the leaf must chain up to that trust anchor (validity periods checked at `now`) and carry one of the
// reference names (3.2.3: SAN dNSName, else CN; a wildcard only as the whole leftmost label). Records with unknown
// usage, selector or matching type, or a digest of the wrong length, are unusable and ignored.
// No usable record at all (RFC 7672 2.2: the RRset is "unusable"): dane_status::unusable. Decision: the
// caller still REQUIRES STARTTLS (the published TLSA RRset says the server does TLS, so falling back to
// cleartext would be a downgrade) but does not authenticate the peer, as Postfix does ("encrypt" level).
// Not handled: a DANE-TA key published with selector 1 whose certificate the server does not send (the
// anchor must be in the presented chain); digest algorithm agility (RFC 7671 9) — every usable digest is
// tried, which only matters for a zone that publishes a weak digest next to a strong one.
#pragma once
#include "dns/records.hpp"

#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::outbound {

struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};
using x509_ptr = std::unique_ptr<X509, x509_free>;

// DER certificates (leaf first) to X509 objects; nullopt when any fails to decode or has trailing bytes.
// At most 16 certificates (a longer chain is refused).
std::optional<std::vector<x509_ptr>> decode_der_chain(const std::vector<std::string>& der);

// Usable for SMTP per RFC 7672 3.1 (usage 2 or 3, selector 0/1, matching type 0/1/2, sane data length).
bool tlsa_usable(const dns::tlsa_record& r);

// The association data of cert for this selector (0 full DER, 1 SPKI DER) and matching type (0 raw,
// 1 SHA-256, 2 SHA-512). nullopt for unknown selector/matching type or an encoding failure.
std::optional<std::string> tlsa_association(X509* cert, std::uint8_t selector, std::uint8_t matching_type);

enum class dane_status : std::uint8_t {
  authenticated,  // a usable record matched (and for DANE-TA the chain and name verified)
  mismatch,       // usable records exist but none matched: do not deliver to this host (RFC 7672 2.2)
  unusable,       // no usable record: mandatory STARTTLS, no authentication (see above)
};
const char* to_string(dane_status s);

struct dane_result {
  dane_status status = dane_status::mismatch;
  std::optional<dns::tlsa_record> matched;  // the record that authenticated the peer
  std::size_t depth = 0;                    // chain index of the matched certificate (0 = leaf)
  std::string reason;                       // for logs / the auditor (OpenSSL verify error text for DANE-TA)
};

// chain: the peer's certificates as sent, leaf first (SSL_get_peer_cert_chain order). reference_names: the
// TLSA base domain and the MX host name (RFC 7672 3.2.3), without trailing dots; used for DANE-TA only.
// now: unix seconds for DANE-TA validity checks.
dane_result dane_verify(const std::vector<dns::tlsa_record>& tlsa, std::span<X509* const> chain,
                        const std::vector<std::string>& reference_names, std::int64_t now);

// A TLSA record for cert (defaults: 3 1 1, what `mailfort dns-records` publishes and the auditor compares).
std::optional<dns::tlsa_record> make_tlsa(X509* cert, std::uint8_t usage = 3, std::uint8_t selector = 1,
                                          std::uint8_t matching_type = 1);
// Presentation form "3 1 1 <lower-case hex>" (RFC 6698 2.2).
std::string tlsa_to_text(const dns::tlsa_record& r);

}  // namespace mailfort::outbound
