// audit/checks/certificate.cpp: [pure] the served certificate: chain trust, name, expiry (60 days medium,
// 30 days high, expired critical, as testssl.sh DAYS2WARN1/2), key size and signature algorithm.
// SPDX-License-Identifier: MIT
// For a public MX an untrusted or misnamed certificate only matters to senders that authenticate (MTA-STS,
// DANE): medium; an expired one breaks MTA-STS enforce and DANE-TA senders outright: critical.
#include "audit/cert_info.hpp"
#include "audit/smtp_observations.hpp"

namespace mailfort::audit {

namespace {
const fix_text k_cert_fix = {"[tls] certificate and key: a certificate from a public CA for the MX name (ACME)",
                             "smtpd_tls_chain_files = /etc/ssl/private/key.pem, /etc/ssl/fullchain.pem",
                             "tls_certificate = fullchain.pem, tls_privatekey = key.pem"};
}

void check_certificate(const smtp_observations& o, const smtp_check_options& opt, std::vector<finding>& out) {
  if (!o.starttls_ok || o.chain_der.empty()) return;
  auto leaf = parse_certificate(o.chain_der.front());
  const auto subj = subject_of(o);
  if (!leaf) {
    out.push_back({"certificate.undecodable", severity::high, control_area::certificate,
                   "The server certificate cannot be decoded", subj, "", k_cert_fix});
    return;
  }
  std::string who = "subject " + leaf->subject + ", issuer " + leaf->issuer;
  auto days = days_left(*leaf, opt.now);
  if (leaf->not_after <= opt.now) {
    out.push_back({"certificate.expired", severity::critical, control_area::certificate, "The certificate has expired",
                   subj, who + ", expired " + std::to_string(-days) + " day(s) ago", k_cert_fix});
  } else if (days < 30) {
    out.push_back({"certificate.expiry.30", severity::high, control_area::certificate,
                   "The certificate expires in less than 30 days", subj,
                   who + ", " + std::to_string(days) + " day(s) left", k_cert_fix});
  } else if (days < 60) {
    out.push_back({"certificate.expiry.60", severity::medium, control_area::certificate,
                   "The certificate expires in less than 60 days", subj,
                   who + ", " + std::to_string(days) + " day(s) left", k_cert_fix});
  }
  if (leaf->not_before > opt.now)
    out.push_back({"certificate.not_yet_valid", severity::high, control_area::certificate,
                   "The certificate is not valid yet", subj, who, k_cert_fix});
  if (leaf->self_signed) {
    out.push_back({"certificate.self_signed", severity::medium, control_area::certificate,
                   "The certificate is self-signed: senders that authenticate (MTA-STS, DANE-TA) cannot verify it",
                   subj, who, k_cert_fix});
  } else if (!o.chain_trusted && leaf->not_after > opt.now) {  // an expired chain fails for that reason alone
    out.push_back({"certificate.untrusted", severity::medium, control_area::certificate,
                   "The certificate chain does not verify against the trusted roots", subj,
                   who + (o.verify_error.empty() ? "" : ": " + o.verify_error), k_cert_fix});
  }
  if (!o.tls_name.empty() && !certificate_matches_host(o.chain_der.front(), o.tls_name)) {
    std::string names;
    for (const auto& n : leaf->dns_names) names += (names.empty() ? "" : ", ") + n;
    out.push_back({"certificate.name_mismatch", severity::medium, control_area::certificate,
                   "The certificate is not valid for the server name " + o.tls_name, subj,
                   "CN=" + leaf->common_name + (names.empty() ? "" : ", SAN: " + names), k_cert_fix});
  }
  if ((leaf->key_type == "RSA" || leaf->key_type == "DSA") && leaf->key_bits > 0 && leaf->key_bits < 2048)
    out.push_back({"certificate.weak_key", severity::high, control_area::certificate,
                   "The certificate key is too small", subj,
                   leaf->key_type + " " + std::to_string(leaf->key_bits) + " bits", k_cert_fix});
  const auto& sig = leaf->signature_algorithm;
  if (!leaf->self_signed && (sig.find("md5") != std::string::npos || sig.find("sha1") != std::string::npos ||
                             sig.find("SHA1") != std::string::npos || sig.find("MD5") != std::string::npos))
    out.push_back({"certificate.weak_signature", severity::medium, control_area::certificate,
                   "The certificate is signed with a broken hash", subj, sig, k_cert_fix});
}

}  // namespace mailfort::audit
