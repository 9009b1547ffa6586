// audit/smtp_observations.hpp: [pure] what the SMTP probe saw, and the checks that turn it into findings.
// SPDX-License-Identifier: MIT
// The probe (audit/probe.cpp, I/O) fills smtp_observations; every check in audit/checks/ is a pure function of
// it, so each verdict is unit-tested from canned observations without a socket. Remote text kept here (banner,
// reply lines) is raw: the report renderers escape it.
#pragma once
#include "audit/finding.hpp"
#include "outbound/reply_parser.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::audit {

struct tls_version_probe {
  std::string version;  // "1.0", "1.1", "1.2", "1.3"
  enum class result : std::uint8_t { accepted, refused, error } res = result::error;
  std::string detail;  // cipher when accepted, OpenSSL's reason otherwise
};

struct relay_attempt {
  std::string form;       // "plain", "percent-hack", "source-route", ...
  std::string mail_from;  // as sent (inside <>)
  std::string rcpt;
  int mail_code = 0;
  int rcpt_code = 0;  // 0: not reached (MAIL refused or connection lost)
  std::string rcpt_text;
  int data_code = 0;  // only with --relay-full: the reply after the message (250 = relayed)
};

struct smuggling_probe {
  std::string variant;   // "lf-dot-lf"
  std::string notation;  // "<LF>.<LF>"
  enum class outcome : std::uint8_t {
    end_of_data,   // the server answered as if the message had ended: vulnerable (it splits messages)
    content,       // no answer until the real <CR><LF>.<CR><LF>, then 250: the bytes were kept as content
    rejected,      // the server refused the message or closed the connection (bare CR/LF rejected)
    inconclusive,  // could not get to DATA, or no usable answer
  } result = outcome::inconclusive;
  std::string evidence;
};

// RFC 2920 pipelining sanity. The group test sends "MAIL FROM / RSET / NOOP" in one write (a valid group:
// NOOP may end one) and counts the replies; the sync-point test sends DATA with a header line behind it in
// the same write, before the 354, and never the end of data (no message is delivered).
// Whether PIPELINING is advertised is smtp_observations::ehlo->pipelining.
struct pipelining_obs {
  enum class group : std::uint8_t { not_tested, answered, broken } grp = group::not_tested;
  std::string group_evidence;
  enum class data_sync : std::uint8_t {
    not_tested,
    rejected,     // refused (5xx instead of 354, or after it) or closed: the server enforces the sync point
    tolerated,    // 354 and then nothing: the bytes sent before the 354 were taken as message content
    inconclusive  // no recipient accepted, or no usable answer
  } data = data_sync::not_tested;
  std::string data_evidence;
};

// A port probed for its role: "mx" (25, the main target), "submission" (587, STARTTLS + AUTH), "smtps" (465).
struct port_probe {
  std::string role;
  std::uint16_t port = 0;
  bool reachable = false;
  std::string error;
  bool implicit_tls = false;  // smtps: the TLS handshake came first
  bool tls_ok = false;        // handshake succeeded (implicit or STARTTLS)
  bool starttls_offered = false;
  std::vector<std::string> auth_before_tls;  // mechanisms advertised in cleartext
  std::vector<std::string> auth_after_tls;
};

struct smtp_observations {
  std::string host;
  std::uint16_t port = 25;
  std::string tls_name;  // name the certificate must carry (--tls-name, else host)
  bool connected = false;
  std::string connect_error;

  std::optional<outbound::server_reply> banner;
  enum class early_talk : std::uint8_t { not_tested, tolerated, rejected } early_talker = early_talk::not_tested;
  std::string early_evidence;

  std::optional<outbound::server_reply> ehlo_reply;  // in cleartext
  std::optional<outbound::ehlo_capabilities> ehlo;
  bool starttls_attempted = false;
  bool starttls_ok = false;
  std::string starttls_error;
  std::optional<outbound::ehlo_capabilities> ehlo_tls;  // after STARTTLS
  std::string negotiated_version;                       // "TLSv1.3"
  std::string negotiated_cipher;
  std::vector<std::string> chain_der;  // leaf first
  bool chain_trusted = false;          // verified against the system (or --ca-file) roots
  std::string verify_error;

  std::vector<tls_version_probe> versions;
  // TLS 1.2 offering only broken suites (3DES, RC4, NULL encryption, export, DES, MD5): did the server pick one?
  // Anonymous (aNULL) suites are left out: Postfix offers them for opportunistic TLS by design, and an MX
  // that senders do not authenticate gains nothing from refusing them.
  std::optional<bool> weak_cipher_accepted;
  std::string weak_cipher_detail;
  // TLS 1.2 offering only static-RSA key exchange suites (AES128-SHA, AES256-GCM-SHA384, ...): did the server
  // pick one? Those have no forward secrecy: whoever gets the server's RSA key later decrypts recorded mail.
  std::optional<bool> static_rsa_accepted;
  std::string static_rsa_detail;

  enum class injection : std::uint8_t {
    not_tested,
    vulnerable,
    safe,
    inconclusive
  } starttls_injection = injection::not_tested;
  std::string injection_evidence;

  struct user_probe {
    std::string command;  // "VRFY" or "EXPN"
    std::string user;
    int code = 0;
    std::string text;
    bool control = false;  // a made-up name: a 5xx here against 2xx for postmaster tells users apart
  };
  std::vector<user_probe> user_probes;

  std::vector<relay_attempt> relay;
  std::vector<smuggling_probe> smuggling;
  pipelining_obs pipelining;
  std::vector<port_probe> ports;
};

struct smtp_check_options {
  std::int64_t now = 0;  // unix seconds, for certificate expiry
  bool mx_role = true;   // the main port receives mail from the Internet (port 25 role)
};

std::string subject_of(const smtp_observations& o);  // "host:port"

// One function per check family (audit/checks/<family>.cpp); each appends its findings.
void check_banner(const smtp_observations& o, std::vector<finding>& out);  // checks/banner.cpp
void check_capabilities(const smtp_observations& o, const smtp_check_options& opt,
                        std::vector<finding>& out);                     // checks/capabilities.cpp
void check_tls(const smtp_observations& o, std::vector<finding>& out);  // checks/tls.cpp
void check_certificate(const smtp_observations& o, const smtp_check_options& opt,
                       std::vector<finding>& out);                                   // checks/certificate.cpp
void check_user_enumeration(const smtp_observations& o, std::vector<finding>& out);  // checks/vrfy_expn.cpp
void check_relay(const smtp_observations& o, std::vector<finding>& out);             // checks/relay.cpp
void check_smuggling(const smtp_observations& o, std::vector<finding>& out);         // checks/smuggling.cpp
void check_ports(const smtp_observations& o, std::vector<finding>& out);             // checks/ports.cpp
void check_pipelining(const smtp_observations& o, std::vector<finding>& out);        // checks/pipelining.cpp

// Software name and version a banner or EHLO greeting gives away ("Postfix", "Exim 4.96", "Sendmail 8.17.1").
struct software_disclosure {
  std::string product;  // empty when none recognised
  std::string version;  // empty when none given
};
software_disclosure detect_software(std::string_view text);

// The classic relay-trick address forms (RCPT only), for target user@domain, with the server's literal
// [ip] and its own name from the banner. Bounded: at most 12 forms.
std::vector<relay_attempt> relay_forms(std::string_view target_user, std::string_view target_domain,
                                       std::string_view server_ip, std::string_view server_name);

// The fake end-of-data sequences (SEC Consult / smtpsmug lists) as {name, notation, bytes}.
struct eod_variant {
  const char* name;
  const char* notation;
  std::string_view bytes;
};
const std::vector<eod_variant>& eod_variants();

}  // namespace mailfort::audit
