// audit/mailbox_audit.hpp: `mailfort audit imap|pop3 HOST[:PORT]`: probe a live IMAP or POP3 server.
// SPDX-License-Identifier: MIT
// What is sent: the greeting is read, CAPABILITY / CAPA before TLS, then one plaintext login with a made-up user
// and password (LOGIN / USER+PASS) to see whether the server would take a password in clear text, STARTTLS / STLS
// and CAPABILITY inside TLS; on the implicit-TLS port (993/995) one handshake per TLS version. Nothing is read
// from any mailbox. The made-up login may count as one failed login on the audited server.
// The loopback trap: Dovecot treats a client whose address equals the server's as secured (plaintext logins
// allowed), so when the target is a 127/8 address and no --source is given, the probe binds another 127/8
// address (127.0.0.1 <-> 127.0.0.2) and says so in the report.
#pragma once
#include "audit/report.hpp"
#include "audit/smtp_observations.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace mailfort::audit {

struct mailbox_audit_options {
  std::string protocol = "imap";  // "imap" or "pop3"
  std::string host;
  std::uint16_t port = 0;      // STARTTLS port; 0: 143 / 110
  std::uint16_t tls_port = 0;  // implicit TLS port; 0: 993 / 995
  bool check_tls_port = true;
  std::string source;  // local address to bind; empty: chosen (see the loopback trap above)
  std::string ca_file;
  std::string tls_name;  // certificate name to expect (default: host)
  std::chrono::milliseconds timeout{10000};
  bool tls_versions = true;
};

// One TLS endpoint (after STARTTLS, or the implicit-TLS port).
struct mailbox_tls_obs {
  bool tested = false;
  bool reachable = false;
  std::string error;
  bool tls_ok = false;
  std::string version;
  std::string cipher;
  bool verified = false;
  std::string verify_error;
  bool name_matches = false;
  std::int64_t days_left = 0;
  std::vector<tls_version_probe> versions;  // implicit-TLS port only
};

// [pure] What the probe saw.
struct mailbox_observations {
  std::string protocol;
  std::string host;
  std::uint16_t port = 0;
  std::uint16_t tls_port = 0;
  std::string source;  // local address used
  bool connected = false;
  std::string connect_error;
  std::string greeting;
  std::vector<std::string> caps_before_tls;  // IMAP capability atoms / POP3 CAPA lines, upper case
  bool starttls_offered = false;
  bool logindisabled = false;  // IMAP LOGINDISABLED before TLS
  enum class plaintext : std::uint8_t {
    not_tested,
    refused,  // the server refused to check a password outside TLS
    checked,  // the server checked the made-up password outside TLS (a real one would have crossed in clear)
  } plaintext_login = plaintext::not_tested;
  std::string plaintext_evidence;
  mailbox_tls_obs starttls;
  mailbox_tls_obs implicit_tls;
};

// [pure] Every check over the observations.
void judge_mailbox(const mailbox_observations& o, std::vector<finding>& out);

// Runs the probe (blocking sockets with deadlines) and the checks.
report run_mailbox_audit(const mailbox_audit_options& opt);

// `audit smtp HOST` and `audit domain` (each MX host): the same host's IMAP and POP3 ports, probed by the code of
// `audit imap|pop3`; their checks and findings join `rep`. A port that does not answer is "not offered" (a skipped
// check `imap.offered` / `pop3.offered`), never an error: most MX hosts serve no mailboxes. A port 0 is not probed.
struct mailbox_ports {
  std::uint16_t imap = 143, imaps = 993, pop3 = 110, pop3s = 995;
};
// base: timeout, ca_file, tls_name, source, tls_versions (protocol, host and ports are set here). id_suffix is
// appended to every check id (`audit domain`: ".<mx host>", so several hosts' checks stay apart).
void add_mailbox_probes(report& rep, const std::string& host, const mailbox_ports& ports,
                        const mailbox_audit_options& base, const std::string& id_suffix = "");

}  // namespace mailfort::audit
