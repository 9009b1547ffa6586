// outbound/smtp_client.hpp: one outbound SMTP transaction over a client_connection: greeting, EHLO, STARTTLS per
// TLS requirement, AUTH, MAIL, RCPT, DATA, QUIT, with a result per recipient.
// SPDX-License-Identifier: MIT
// RFC 5321 (4.5.3.2 timeouts via client_connection, 4.5.2 dot-stuffing), RFC 3207 (STARTTLS, EHLO again after
// it), RFC 4954 (AUTH PLAIN, sent only inside TLS whose certificate verified), RFC 1870 (SIZE: a message over
// the announced fixed limit fails permanently without sending it), RFC 6531 (a message that needs SMTPUTF8
// to a server that does not announce it fails permanently, 5.6.7, as the RFC's section 3.4 asks),
// RFC 6152 (BODY=8BITMIME when announced; 8-bit content is sent as it is otherwise, as Postfix does).
// TLS requirement (strongest first): dane (chain must match the TLSA records), verify (PKIX chain and host
// name), encrypt (TLS with any certificate), opportunistic (TLS when offered; plaintext otherwise). Under
// every requirement but opportunistic a missing STARTTLS, a refused STARTTLS, a failed handshake or a failed
// check makes this host fail (temporary): the caller tries the next host, never plaintext.
// RFC 2920 PIPELINING when announced: MAIL, every RCPT and DATA go in one write and the replies are read in
// order (one round trip instead of 2 + recipients); without it, one command at a time.
// Not done: CHUNKING, DSN parameters, a plaintext retry after a failed opportunistic handshake.
#pragma once
#include "dns/records.hpp"
#include "outbound/client_connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::outbound {

enum class tls_requirement : std::uint8_t { opportunistic, encrypt, verify, dane };
const char* to_string(tls_requirement r);

struct credentials {
  std::string user;
  std::string password;
};

struct transaction {
  std::string helo;                     // our name for EHLO/HELO
  std::string sender;                   // reverse-path without <> ("" = null sender)
  std::vector<std::string> recipients;  // forward-paths without <>
  std::string_view message;             // CRLF lines, as queued (not dot-stuffed)
  bool eight_bit = false;               // BODY=8BITMIME wanted
  bool smtputf8 = false;                // the transaction needs SMTPUTF8 (see needs_smtputf8())
  tls_requirement tls = tls_requirement::opportunistic;
  tls_params tlsp;                      // SNI, verify_name, CA file
  std::vector<dns::tlsa_record> tlsa;   // for tls_requirement::dane (from a DNSSEC-secure answer)
  std::vector<std::string> dane_names;  // reference names for DANE-TA (TLSA base domain, MX host name)
  bool report_verify = false;           // record whether PKIX verification would pass (MTA-STS testing)
  std::optional<credentials> auth;      // AUTH PLAIN after verified TLS
  std::int64_t now = 0;                 // unix seconds (DANE-TA validity)
};

enum class rcpt_status : std::uint8_t { delivered, temp, perm };
const char* to_string(rcpt_status s);

struct rcpt_outcome {
  rcpt_status status = rcpt_status::temp;
  std::string reply;    // the remote reply ("550 5.1.1 text", printable()) or our reason
  std::string code;     // RFC 3463 code ("5.1.1"); derived from the reply class when the server sent none
  bool remote = false;  // reply came from the server (vs our own reason)
};

struct transaction_result {
  // True when the host failed before any recipient was decided (connection, greeting, EHLO, TLS policy,
  // AUTH, or a 4xx to MAIL): nothing was decided, the caller tries the next host/address. reason says why.
  bool host_failed = false;
  std::string reason;
  std::vector<rcpt_outcome> rcpts;  // one per transaction::recipients when !host_failed
  bool tls = false;
  std::string tls_version, tls_cipher;
  bool tls_verified = false;  // PKIX verification passed (whatever the requirement)
  std::string tls_note;       // "dane authenticated (3 1 1)", verify error, ...
  bool data_sent = false;     // the final "." was written (a lost reply may mean a duplicate)
  // TLS-RPT (RFC 8460 4.3): the result type when the TLS requirement was not met ("starttls-not-supported",
  // "certificate-host-mismatch", "certificate-expired", "certificate-not-trusted", "tlsa-invalid",
  // "validation-failure"), else "". tls_phase_done: the STARTTLS step finished (TLS or plaintext).
  std::string tls_failure;
  bool tls_phase_done = false;
};

// RFC 8460 result type for an OpenSSL verification error text.
std::string tlsrpt_result_for_verify_error(std::string_view verify_error);

// Runs the transaction on a connected client_connection (the greeting not read yet), then QUITs/closes it.
boost::asio::awaitable<transaction_result> run_transaction(client_connection& c, const transaction& t);

// An RFC 3463 code for a reply: its enhanced code when given, else "<class>.0.0".
std::string status_code_of(const server_reply& r);
// "250 2.0.0 Ok" style one-line rendering of a reply (lines joined by " / "), printable(), bounded.
std::string render_reply(const server_reply& r);

}  // namespace mailfort::outbound
