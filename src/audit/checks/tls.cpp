// audit/checks/tls.cpp: [pure] TLS protocol versions accepted, negotiated parameters, STARTTLS command injection.
// SPDX-License-Identifier: MIT
// TLS 1.0 and 1.1 are deprecated (RFC 8996); testssl.sh caps the grade for either. STARTTLS injection
// (CVE-2011-0411 class, testssl.sh run_starttls_injection): a server that keeps plaintext bytes sent behind
// STARTTLS and answers them inside TLS lets a man in the middle inject commands into the protected session.
#include "audit/smtp_observations.hpp"

namespace mailfort::audit {

void check_tls(const smtp_observations& o, std::vector<finding>& out) {
  bool any_modern = false, tested_modern = false;
  for (const auto& v : o.versions) {
    bool old = v.version == "1.0" || v.version == "1.1";
    if (!old) {
      tested_modern |= v.res != tls_version_probe::result::error;
      any_modern |= v.res == tls_version_probe::result::accepted;
    }
    if (old && v.res == tls_version_probe::result::accepted) {
      std::string id = v.version == "1.0" ? "tls.version.tls1_0" : "tls.version.tls1_1";
      out.push_back({id,
                     severity::medium,
                     control_area::tls,
                     "TLS " + v.version + " is accepted (deprecated by RFC 8996)",
                     subject_of(o),
                     "handshake with only TLS " + v.version + " enabled succeeded: " + v.detail,
                     {"[tls] min_version = \"1.2\" (the default)",
                      "smtpd_tls_protocols = >=TLSv1.2 and smtpd_tls_mandatory_protocols = >=TLSv1.2",
                      "openssl_options = +no_tlsv1 +no_tlsv1_1 (or tls_require_ciphers with MinProtocol)"}});
    }
  }
  if (tested_modern && !any_modern && o.starttls_ok) {
    out.push_back({"tls.version.no_modern",
                   severity::high,
                   control_area::tls,
                   "Neither TLS 1.2 nor TLS 1.3 is accepted",
                   subject_of(o),
                   "",
                   {"[tls] min_version = \"1.2\"", "smtpd_tls_protocols = >=TLSv1.2", "upgrade OpenSSL/GnuTLS"}});
  }
  if (o.starttls_ok && !o.negotiated_cipher.empty()) {
    const auto& c = o.negotiated_cipher;
    bool weak = c.find("RC4") != std::string::npos || c.find("DES") != std::string::npos ||
                c.find("NULL") != std::string::npos || c.find("EXP") != std::string::npos ||
                c.find("MD5") != std::string::npos;
    if (weak)
      out.push_back(
          {"tls.cipher.weak",
           severity::high,
           control_area::tls,
           "A weak cipher was negotiated with a modern client",
           subject_of(o),
           o.negotiated_version + " " + c,
           {"mailfort uses OpenSSL's secure defaults", "smtpd_tls_ciphers = medium, tls_medium_cipherlist default",
            "tls_require_ciphers = HIGH:!aNULL:!MD5:!RC4:!3DES"}});
  }
  if (o.weak_cipher_accepted.value_or(false))
    out.push_back(
        {"tls.cipher.weak_accepted",
         severity::high,
         control_area::tls,
         "The server accepts broken cipher suites (3DES, RC4, NULL encryption, export, DES or MD5)",
         subject_of(o),
         "a client offering only those completed the handshake: " + o.weak_cipher_detail,
         {"mailfort uses OpenSSL's secure defaults (no setting weakens them)",
          "smtpd_tls_ciphers = medium and smtpd_tls_exclude_ciphers = aNULL, eNULL, EXPORT, DES, 3DES, RC4, MD5",
          "tls_require_ciphers = HIGH:!aNULL:!eNULL:!3DES:!RC4:!MD5"}});
  if (o.static_rsa_accepted.value_or(false))
    out.push_back({"tls.cipher.no_forward_secrecy",
                   severity::low,
                   control_area::tls,
                   "The server accepts static-RSA key exchange (no forward secrecy)",
                   subject_of(o),
                   "a client offering only static-RSA suites completed the handshake: " + o.static_rsa_detail,
                   {"mailfort offers only ECDHE/DHE suites for TLS 1.2",
                    "smtpd_tls_exclude_ciphers = kRSA (or tls_medium_cipherlist without kRSA); for port 25 keep "
                    "opportunistic TLS working for old senders only if you must",
                    "tls_require_ciphers = ECDHE:DHE:!aNULL:!eNULL:!kRSA"}});
  if (o.starttls_injection == smtp_observations::injection::vulnerable) {
    out.push_back({"tls.starttls.injection",
                   severity::high,
                   control_area::tls,
                   "STARTTLS command injection: plaintext sent after STARTTLS is executed inside TLS",
                   subject_of(o),
                   o.injection_evidence,
                   {"mailfort discards bytes buffered behind STARTTLS",
                    "upgrade Postfix (fixed in 2.8.0, CVE-2011-0411)", "upgrade Exim"}});
  }
}

}  // namespace mailfort::audit
