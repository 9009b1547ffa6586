// cli/audit.cpp: `mailfort audit smtp HOST[:PORT]`, `audit domain DOMAIN`, `audit config [FILE]`.
// SPDX-License-Identifier: MIT
// Output: --format text (coloured on a terminal unless NO_COLOR is set), json (schema mailfort-audit/1,
// docs/audit.md) or html (one self-contained file); --output FILE writes it there instead of stdout.
// Exit codes (for cron and CI): 0 nothing at or above --fail-on (default high), 1 findings at or above it,
// 2 the audit could not run (usage error, unreachable server, NXDOMAIN, config file errors).
// Built only with src/audit (MAILFORT_HAVE_AUDIT, set by src/CMakeLists.txt when the mailfort_audit target exists).
#ifdef MAILFORT_HAVE_AUDIT
#include "audit/config_audit.hpp"
#include "audit/domain_audit.hpp"
#include "audit/mailbox_audit.hpp"
#include "audit/smtp_audit.hpp"
#include "cli/cli.hpp"
#include "common/host_port.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <unistd.h>

namespace mailfort::cli {

namespace {

struct output_args {
  std::string format = "text";
  std::string fail_on = "high";
  std::string output;
};

struct smtp_args {
  std::string target;
  std::uint16_t submission_port = 0, smtps_port = 0;
  std::vector<std::string> users;
  bool relay_full = false, smuggling = false, no_tls_versions = false, no_pipelining = false;
  std::string relay_target, relay_domain = "example.net", smuggling_rcpt, tls_name, ca_file, helo;
  double timeout_s = 10;
  double smuggling_wait_s = 3;
  audit::mailbox_ports mailbox;
  bool no_mailbox = false;
};

struct domain_args {
  std::string domain;
  std::vector<std::string> selectors, dnsbl;
  bool no_dnsbl = false, no_smtp = false, no_tls_versions = false;
  std::uint16_t mx_port = 25, https_port = 443;
  std::string ca_file;
  double timeout_s = 10;
  audit::mailbox_ports mailbox;
  bool no_mailbox = false;
};

// The IMAP/POP3 ports `audit smtp` and `audit domain` also probe on the same host (0: not that one).
void add_mailbox_options(CLI::App* c, audit::mailbox_ports& p, bool& none) {
  c->add_option("--imap-port", p.imap, "also probe IMAP (STARTTLS) on this port of the host (default 143; 0: no)");
  c->add_option("--imaps-port", p.imaps, "also probe IMAPS on this port (default 993; 0: no)");
  c->add_option("--pop3-port", p.pop3, "also probe POP3 (STLS) on this port (default 110; 0: no)");
  c->add_option("--pop3s-port", p.pop3s, "also probe POP3S on this port (default 995; 0: no)");
  c->add_flag("--no-mailbox", none, "do not probe the host's IMAP/POP3 ports");
}

void add_output_options(CLI::App* c, output_args& o) {
  c->add_option("--format", o.format, "text, json or html")->check(CLI::IsMember({"text", "json", "html"}));
  c->add_option("--fail-on", o.fail_on, "exit 1 when a finding is at or above: info|low|medium|high|critical")
      ->check(CLI::IsMember({"info", "low", "medium", "high", "critical"}));
  c->add_option("--output", o.output, "write the report to FILE instead of stdout");
}

// HOST, HOST:PORT, [V6], [V6]:PORT, or a bare IPv6 address (port 25 unless given).
bool split_target(const std::string& t, std::string& host, std::uint16_t& port) {
  auto hp = common::parse_host_port(t);
  if (!hp) return false;
  host = hp->host;
  port = hp->port.value_or(25);
  return true;
}

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(std::max(0.1, std::min(seconds, 600.0)) * 1000));
}

// Prints the report and sets the exit code.
void emit(audit::report& rep, const output_args& o, int& exit_code) {
  std::string text;
  bool to_stdout = o.output.empty();
  if (o.format == "json")
    text = audit::render_json(rep);
  else if (o.format == "html")
    text = audit::render_html(rep);
  else
    text = audit::render_text(rep, to_stdout && ::isatty(1) && !std::getenv("NO_COLOR"));
  if (to_stdout) {
    std::cout << text << std::flush;
  } else {
    std::ofstream f(o.output, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f) {
      std::cerr << "mailfort: cannot write " << o.output << "\n";
      exit_code = 2;
      return;
    }
  }
  if (rep.could_not_run) std::cerr << "mailfort: the audit could not run: " << audit::safe_text(rep.failure) << "\n";
  exit_code = audit::exit_code(rep, audit::parse_severity(o.fail_on).value_or(audit::severity::high));
}

}  // namespace

void register_audit(CLI::App& app, common_options& opts, int& exit_code) {
  auto* a = app.add_subcommand("audit", "audit an SMTP server, a mail domain or a mailfort config");
  a->require_subcommand(1);

  // ---- smtp ----
  auto so = std::make_shared<output_args>();
  auto sa = std::make_shared<smtp_args>();
  auto* s = a->add_subcommand("smtp", "probe a live SMTP server (TLS, AUTH exposure, relay, VRFY, smuggling...)");
  s->add_option("TARGET", sa->target, "HOST[:PORT] (default port 25)")->required();
  add_output_options(s, *so);
  s->add_option("--submission-port", sa->submission_port,
                "also check this port's submission role (STARTTLS before AUTH)");
  s->add_option("--smtps-port", sa->smtps_port, "also check this implicit-TLS submission port");
  s->add_option("--user", sa->users, "VRFY/EXPN this user besides postmaster (repeatable)");
  s->add_flag("--relay-full", sa->relay_full, "complete one relay test with DATA to --relay-target");
  s->add_option("--relay-target", sa->relay_target, "recipient (user@domain) for --relay-full");
  s->add_option("--relay-domain", sa->relay_domain, "foreign domain for relay tests (default example.net)");
  s->add_flag("--smuggling", sa->smuggling, "test fake end-of-data sequences (sends one test message per variant)");
  s->add_option("--smuggling-rcpt", sa->smuggling_rcpt, "recipient the server accepts (default postmaster@<its name>)");
  s->add_option("--smuggling-wait", sa->smuggling_wait_s, "seconds to wait for a reply to a fake end of data (3)");
  s->add_option("--tls-name", sa->tls_name, "name the certificate must carry (default: HOST)");
  s->add_option("--ca-file", sa->ca_file, "extra trusted CA certificates (PEM)");
  s->add_option("--helo", sa->helo, "EHLO name to use");
  s->add_option("--timeout", sa->timeout_s, "seconds per network step (default 10)");
  s->add_flag("--no-tls-versions", sa->no_tls_versions, "skip the per-version TLS handshakes");
  s->add_flag("--no-pipelining", sa->no_pipelining, "skip the PIPELINING group and DATA sync-point probes");
  add_mailbox_options(s, sa->mailbox, sa->no_mailbox);
  s->callback([so, sa, &exit_code] {
    audit::smtp_audit_options o;
    if (!split_target(sa->target, o.host, o.port)) {
      std::cerr << "mailfort: '" << sa->target << "' is not HOST[:PORT]\n";
      exit_code = 2;
      return;
    }
    if (sa->relay_full && sa->relay_target.find('@') == std::string::npos) {
      std::cerr << "mailfort: --relay-full needs --relay-target USER@DOMAIN\n";
      exit_code = 2;
      return;
    }
    o.tls_name = sa->tls_name;
    o.ca_file = sa->ca_file;
    if (!sa->helo.empty()) o.helo = sa->helo;
    o.timeout = ms(sa->timeout_s);
    o.smuggling_wait = ms(sa->smuggling_wait_s);
    o.users = sa->users;
    o.relay_full = sa->relay_full;
    o.relay_target = sa->relay_target;
    o.relay_domain = sa->relay_domain;
    o.smuggling = sa->smuggling;
    o.smuggling_rcpt = sa->smuggling_rcpt;
    o.tls_versions = !sa->no_tls_versions;
    o.pipelining = !sa->no_pipelining;
    if (sa->submission_port) o.submission_port = sa->submission_port;
    if (sa->smtps_port) o.smtps_port = sa->smtps_port;
    o.mailbox_probe = !sa->no_mailbox;
    o.mailbox = sa->mailbox;
    auto rep = audit::run_smtp_audit(o);
    emit(rep, *so, exit_code);
  });

  // ---- domain ----
  auto dout = std::make_shared<output_args>();
  auto da = std::make_shared<domain_args>();
  auto* d =
      a->add_subcommand("domain", "audit a mail domain: MX, rDNS, DNSBL, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, DANE");
  d->add_option("DOMAIN", da->domain, "the domain")->required();
  add_output_options(d, *dout);
  d->add_option("--dkim-selector", da->selectors, "DKIM selector to check (repeatable)");
  d->add_option("--dnsbl", da->dnsbl,
                "DNS blocklist zone (repeatable; replaces the defaults "
                "zen.spamhaus.org and b.barracudacentral.org)");
  d->add_flag("--no-dnsbl", da->no_dnsbl, "skip blocklist lookups");
  d->add_flag("--no-smtp", da->no_smtp, "do not connect to the MX hosts");
  d->add_flag("--no-tls-versions", da->no_tls_versions, "skip the per-MX TLS version and weak-cipher handshakes");
  d->add_option("--mx-port", da->mx_port, "SMTP port to probe on each MX (default 25)");
  d->add_option("--https-port", da->https_port, "port of the MTA-STS policy host (default 443)");
  d->add_option("--ca-file", da->ca_file, "extra trusted CA certificates (PEM)");
  d->add_option("--timeout", da->timeout_s, "seconds per network step (default 10)");
  add_mailbox_options(d, da->mailbox, da->no_mailbox);
  d->callback([dout, da, &opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    audit::domain_audit_options o;
    o.domain = da->domain;
    o.dkim_selectors = da->selectors;
    if (!da->dnsbl.empty()) o.dnsbl_zones = da->dnsbl;
    if (da->no_dnsbl) o.dnsbl_zones.clear();
    o.smtp_probe = !da->no_smtp;
    o.tls_versions = !da->no_tls_versions;
    o.mx_port = da->mx_port;
    o.https_port = da->https_port;
    o.ca_file = da->ca_file;
    o.timeout = ms(da->timeout_s);
    o.mailbox_probe = !da->no_mailbox;
    o.mailbox = da->mailbox;
    auto rep = audit::run_domain_audit(o, resolver_options_for(cfg, opts));
    emit(rep, *dout, exit_code);
  });

  // ---- imap, pop3 (audit/mailbox_audit.hpp) ----
  for (const char* proto : {"imap", "pop3"}) {
    struct mailbox_args {
      std::string target, source, ca_file, tls_name;
      std::uint16_t tls_port = 0;
      bool no_tls_port = false, no_tls_versions = false;
      double timeout_s = 10;
    };
    auto mo = std::make_shared<output_args>();
    auto ma = std::make_shared<mailbox_args>();
    const bool imap = std::string(proto) == "imap";
    auto* m = a->add_subcommand(proto, imap ? "probe a live IMAP server (plaintext login before STARTTLS, "
                                              "LOGINDISABLED, TLS versions, certificate, port 993)"
                                            : "probe a live POP3 server (plaintext login before STLS, TLS versions, "
                                              "certificate, port 995)");
    m->add_option("TARGET", ma->target, imap ? "HOST[:PORT] (default port 143)" : "HOST[:PORT] (default port 110)")
        ->required();
    add_output_options(m, *mo);
    m->add_option("--tls-port", ma->tls_port,
                  imap ? "implicit-TLS port (default 993)" : "implicit-TLS port (default 995)");
    m->add_flag("--no-tls-port", ma->no_tls_port, "do not probe the implicit-TLS port");
    m->add_option("--source", ma->source, "local address to connect from");
    m->add_option("--tls-name", ma->tls_name, "name the certificate must carry (default: HOST)");
    m->add_option("--ca-file", ma->ca_file, "extra trusted CA certificates (PEM)");
    m->add_option("--timeout", ma->timeout_s, "seconds per network step (default 10)");
    m->add_flag("--no-tls-versions", ma->no_tls_versions, "skip the per-version TLS handshakes");
    m->callback([mo, ma, imap, &exit_code] {
      audit::mailbox_audit_options o;
      o.protocol = imap ? "imap" : "pop3";
      auto hp = common::parse_host_port(ma->target);
      if (!hp) {
        std::cerr << "mailfort: '" << ma->target << "' is not HOST[:PORT]\n";
        exit_code = 2;
        return;
      }
      o.host = hp->host;
      o.port = hp->port.value_or(0);
      o.tls_port = ma->tls_port;
      o.check_tls_port = !ma->no_tls_port;
      o.source = ma->source;
      o.ca_file = ma->ca_file;
      o.tls_name = ma->tls_name;
      o.timeout = ms(ma->timeout_s);
      o.tls_versions = !ma->no_tls_versions;
      auto rep = audit::run_mailbox_audit(o);
      emit(rep, *mo, exit_code);
    });
  }

  // ---- config ----
  auto cout_ = std::make_shared<output_args>();
  auto cfile = std::make_shared<std::string>();
  auto* c = a->add_subcommand("config", "judge a mailfort configuration against the control list");
  c->add_option("FILE", *cfile, "config file (default: --config, else the embedded defaults)");
  add_output_options(c, *cout_);
  c->callback([cout_, cfile, &opts, &exit_code] {
    auto rep = audit::run_config_audit(cfile->empty() ? opts.config_file : *cfile);
    emit(rep, *cout_, exit_code);
  });
}

}  // namespace mailfort::cli

#endif  // MAILFORT_HAVE_AUDIT
