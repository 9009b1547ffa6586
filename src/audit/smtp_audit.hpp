// audit/smtp_audit.hpp: `mailfort audit smtp HOST[:PORT]`: probe a live SMTP server and judge what it does.
// SPDX-License-Identifier: MIT
// What is sent: EHLO, STARTTLS, VRFY/EXPN for postmaster and the --user list only, RCPT for relay tests
// (never DATA unless relay_full), one test message per fake end-of-data variant only with --smuggling, and
// one connection per TLS version, one for a pipelined MAIL/RSET/NOOP group and one that sends DATA with a line
// behind it (never the end of data, so no message is delivered). The early-talker probe runs first (as a fresh client:
// servers with a greeting delay remember clients that waited); the probes a hardened server bans for (commands behind
// STARTTLS, smuggling) run last so a ban does not hide the other results.
#pragma once
#include "audit/mailbox_audit.hpp"
#include "audit/report.hpp"
#include "audit/smtp_observations.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mailfort::audit {

struct smtp_audit_options {
  std::string host;
  std::uint16_t port = 25;
  std::string tls_name;  // certificate name to expect (default: host)
  std::string helo = "audit.mailfort.invalid";
  std::string ca_file;                             // extra trusted roots (tests, private CAs)
  std::chrono::milliseconds timeout{10000};        // every connect / read / write / handshake
  std::chrono::milliseconds smuggling_wait{3000};  // how long a fake end-of-data may take to be answered
  std::vector<std::string> users;                  // VRFY/EXPN besides postmaster
  std::string relay_domain = "example.net";        // foreign domain for relay tests (RFC 2606)
  bool relay_full = false;                         // send DATA to relay_target
  std::string relay_target;                        // user@domain
  bool smuggling = false;
  std::string smuggling_rcpt;  // a recipient the server accepts (default postmaster@<banner name>);
                               // also the recipient of the DATA sync-point probe
  bool user_probes = true;     // VRFY/EXPN
  bool relay = true;           // open relay forms
  bool tls_versions = true;
  bool early_talker = true;
  bool injection = true;
  bool pipelining = true;  // PIPELINING group and DATA sync-point probes
  std::optional<std::uint16_t> submission_port;
  std::optional<std::uint16_t> smtps_port;
  // The same host's IMAP/POP3 ports (audit/mailbox_audit.hpp), probed first (before any SMTP probe can get the
  // auditor banned); ports that do not answer are reported "not offered".
  bool mailbox_probe = true;
  mailbox_ports mailbox;
};

// Gathers observations; records check states in `rep` (ran / error). Never throws for network failures.
boost::asio::awaitable<smtp_observations> probe_smtp(boost::asio::any_io_executor ex, smtp_audit_options opt,
                                                     report& rep);
// The pure part: every check over the observations.
void judge_smtp(const smtp_observations& o, const smtp_check_options& opt, std::vector<finding>& out);

// Runs the whole audit on its own io_context (CLI use).
report run_smtp_audit(const smtp_audit_options& opt);

}  // namespace mailfort::audit
