// config/config.hpp: the typed configuration and its embedded secure defaults (DESIGN.md section 1).
// SPDX-License-Identifier: MIT
// A config file overrides only what it names; everything else keeps the default below.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mailfort::config {

struct listeners {
  std::string mx = "127.0.0.1:2525";           // empty string: listener disabled
  std::string submission = "127.0.0.1:2587";   // STARTTLS, AUTH required
  std::string submissions = "127.0.0.1:2465";  // implicit TLS, AUTH required
  std::string admin = "127.0.0.1:9025";        // reserved for the monitor issue; not bound yet
};

struct tls {
  std::string certificate;  // empty: generated self-signed certificate in data_dir/tls/
  std::string key;
  std::string min_version = "1.2";  // "1.2" or "1.3"; anything lower is refused by config check
  int handshake_timeout_s = 30;
};

struct dns {
  std::vector<std::string> servers;                     // empty: the system resolver
  std::string root_anchor = "/usr/share/dns/root.key";  // DNSSEC root trust anchor (dns-root-data); "" = none
  std::string trust_anchor;                             // extra DS/DNSKEY file (private or test zones)
  std::vector<std::string> special_zones;  // RFC 6761 zones ("test") to resolve upstream instead of refusing
  int timeout_ms = 5000;
};

struct relay {
  std::vector<std::string> trusted_networks;  // CIDRs allowed to relay without AUTH; none by default
  std::string smarthost;
  std::string smarthost_user;           // AUTH PLAIN at the smart host (only inside verified TLS)
  std::string smarthost_password_file;  // one line: the password (read at start)
  // Submission sender rules (issue 15 item 4).
  bool allow_null_sender = false;  // may a logged-in user send MAIL FROM:<> on 587/465
};

// Outbound delivery (docs/outbound.md): SMTP to MX hosts or relay.smarthost.
struct outbound_settings {
  std::string helo_name;    // EHLO name; empty: hostname
  std::string source_ipv4;  // outbound source addresses; empty: the kernel chooses
  std::string source_ipv6;
  bool allow_private = false;  // connect to loopback/private addresses from MX records (tests, LANs)
  int port = 25;               // destination port of MX hosts (tests override it)
  std::string ca_file;         // extra PEM trust anchors for certificate verification; empty: system store
  bool dane = true;            // RFC 7672, only with a DNSSEC-validating resolver
  bool mta_sts = true;         // RFC 8461
  int mta_sts_port = 443;      // HTTPS port of mta-sts.<domain> (tests override it)
  int max_connections = 20;    // deliveries in flight
  int max_connections_per_domain = 4;
  int connect_timeout_s = 30;
  int command_timeout_s = 300;    // RFC 5321 4.5.3.2
  bool tlsrpt = true;             // RFC 8460: count TLS sessions per policy domain, send daily reports
  int tlsrpt_interval_s = 86400;  // how often completed days are reported
  std::string tlsrpt_contact;     // contact-info of the reports; empty: postmaster@hostname
};

// The queue's retry schedule.
struct queue_settings {
  int retry_min_s = 300;           // first retry after 5 minutes, doubling
  int retry_max_s = 4 * 3600;      // up to 4 hours between attempts
  int max_lifetime_s = 5 * 86400;  // then the sender gets a DSN
  double retry_jitter = 0.2;       // +-20 %
  int delay_warning_s = 0;         // a delay DSN once per recipient still deferred after this long; 0: none
  bool discard = false;            // benchmark only: answer 250 and throw the message away (never spooled)
};

struct state {
  std::string backend = "sqlite";
  std::string redis_url = "redis://127.0.0.1:6379";
};

struct limits {
  std::uint64_t message_size = 25ull * 1024 * 1024;  // SIZE, 552 5.3.4
  std::size_t command_line = 512;                    // octets incl. CRLF (RFC 5321 4.5.3.1.4)
  std::size_t text_line = 1000;                      // octets incl. CRLF (RFC 5321 4.5.3.1.6)
  std::size_t header_section = 256 * 1024;           // bytes of header section before 552
  std::size_t recipients = 100;                      // per message, then 452 4.5.3
  std::size_t max_hops = 100;                        // Received: fields, 554 5.4.6
  std::size_t soft_errors = 10;                      // errors after which replies are delayed
  std::size_t hard_errors = 20;                      // errors after which 421 and close
  std::size_t junk_commands = 100;                   // NOOP/RSET/VRFY/HELP... per session before 421
  std::size_t unknown_recipients = 20;               // 550 5.1.1 per session before 421 (dictionary attack)
  std::size_t messages_per_connection = 100;         // MAIL transactions per session, then 421
  int command_timeout_s = 300;                       // RFC 5321 4.5.3.2.7 server timeout
  int data_timeout_s = 3600;                         // absolute cap on one DATA phase (the minimum rate applies first)
  std::size_t min_data_rate = 500;                   // bytes/s averaged over DATA (slowloris), after a grace
  int error_delay_ms = 1000;                         // tarpit per error past soft_errors
  std::size_t max_connections = 1000;                // total, 421 4.7.0 at connect
  std::size_t max_connections_per_ip = 20;           // 421 4.7.0 at connect
  std::uint64_t inflight_bytes = 256ull * 1024 * 1024;  // message bytes received, not yet queued; 452 4.3.1
  // issue 15 (abuse shield): no session holds a slot forever; no listener's flood takes every slot.
  int session_lifetime_s = 3600;      // a session older than this gets 421 4.4.2 at its next command and closes
  std::size_t listener_reserve = 50;  // slots of max_connections each listener keeps free from the others
};

// Greeting delay on the MX listener (postscreen-style): clients that talk before the banner are early
// talkers (554 5.5.0, close, ban score). Clients that waited once are remembered and not delayed again.
struct greeting {
  int delay_ms = 3000;  // 0 disables; submission ports are never delayed
  int remember_s = 86400;
};

// Sender authentication of inbound mail on the MX listener (SPF, DKIM, DMARC; RFC 8601 results header).
struct auth {
  std::string authserv_id;  // empty: the hostname. Inbound Authentication-Results claiming it are removed
  bool spf = true;
  bool dkim = true;
  bool dmarc = true;
  bool dmarc_enforce = true;                // p=reject -> 550 5.7.1 at end of data; p=quarantine -> the Junk folder
  std::vector<std::string> dmarc_override;  // From domains whose DMARC policy is recorded but not enforced
  int max_dkim_signatures = 5;              // signatures verified per message; the rest are reported, not checked
  // RFC 7489 7.2 aggregate reports: record the rows (per source IP, disposition) in state.db and mail them daily.
  // On by default, like outbound.tlsrpt: the domain owner asked for them by publishing rua=; an address outside
  // its organizational domain gets them only if it agreed in DNS (7.1), so we cannot be turned into a mail
  // cannon; and rows that were collected but never sent would only pile up in state.db.
  bool dmarc_reports = true;
  int dmarc_report_interval_s = 86400;  // how often completed days are reported
  std::string dmarc_report_contact;     // report_metadata/email; empty: postmaster@hostname
  // A temporary DNS failure of SPF, DKIM or DMARC (issue 15 item 0): "defer" answers 451 4.7.5 so the sender
  // retries; "accept" delivers the message as if no policy applied (what DNS trouble used to mean).
  std::string temperror = "defer";
};

// DKIM signing of mail from authenticated users: one entry per (domain, selector); two selectors for one
// domain sign twice (e.g. Ed25519 and RSA).
struct dkim_key {
  std::string domain;
  std::string selector;
  std::string key;  // PEM private key file (`mailfort dkim keygen` writes one)
};
struct dkim {
  bool sign = true;
  std::vector<dkim_key> keys;
  bool sign_trusted = true;  // also sign mail relayed for relay.trusted_networks whose From domain has a key
};

// Watching: the admin HTTP listener (listeners.admin) and the alert thresholds.
struct monitor {
  std::string token;              // bearer token for /metrics and /api/* (empty: none; loopback only anyway)
  int auth_failures_per_ip = 10;  // per minute from one address -> alert auth_failure_burst (0 disables)
  int auth_failures_total = 100;  // per minute from everywhere -> alert auth_failure_burst, subject "*"
  int queue_size_alert = 10000;   // messages in the queue -> alert queue_size_high (0 disables)
  int queue_growth_alert = 1000;  // queue growth within queue_growth_window_s -> alert queue_growth (0 disables)
  int queue_growth_window_s = 600;
  std::string webhook;  // http://host[:port]/path: every alert raised or cleared is POSTed as JSON
  std::vector<std::string> blocklist_zones = {"zen.spamhaus.org", "b.barracudacentral.org"};
  std::string public_ip;            // address checked on the DNSBLs; empty: the source address of the default route
  std::string log_format = "json";  // "json" (one object per line) or "syslog" (RFC 5424 lines carrying the JSON)
  double outbound_spike_multiplier = 10;  // a user's recipients this hour vs their median hour -> outbound_spike
  int outbound_spike_floor = 200;         // ... and at least this many recipients in the hour
  bool hold_on_spike = true;              // hold that user's outbound mail in the queue until `mailfort queue release`
};

// Token-bucket rate limits (0 disables one). Over a limit: 450 4.7.1 (MAIL), 452 4.5.3 (RCPT),
// 421 4.7.0 (connections, AUTH attempts).
struct ratelimit {
  double connections_per_minute_per_ip = 60;
  double messages_per_hour_per_ip = 1000;
  double recipients_per_hour_per_ip = 5000;
  double messages_per_hour_per_user = 500;
  double recipients_per_hour_per_user = 2000;
  double auth_per_minute_per_ip = 10;
  bool exempt_trusted = true;  // relay.trusted_networks skip per-source connection caps and rate limits
};

// Built-in fail2ban: points per offence inside `window_s`; reaching `threshold` bans the source
// prefix for `duration_s`, doubling for repeat offenders up to `max_duration_s`.
struct ban {
  bool enabled = true;
  double threshold = 5;  // 5 failed logins in 10 minutes
  int window_s = 600;
  int duration_s = 3600;
  int max_duration_s = 7 * 86400;
  unsigned ipv4_prefix = 32;
  unsigned ipv6_prefix = 64;
  std::vector<std::string> allowlist;  // CIDRs never banned (trusted_networks are never banned either)
  unsigned ipv6_wide_prefix = 48;      // a second, coarser IPv6 score, ban and rate limit; 0 disables
  double wide_factor = 4;              // ... at this many times the threshold and limits of one source
  int history_s = 30 * 86400;          // ended bans count for escalation this long, then their rows are deleted
};

struct server {
  int threads = 0;  // event loops; 0: one per core
};

// Mailbox access (IMAP/POP3) through Dovecot, run and supervised by `mailfort serve` (src/mailbox/).
struct imap {
  std::string enabled = "auto";         // "true", "false", or "auto": on when the Dovecot binary is installed
  std::string imap = "127.0.0.1:2143";  // STARTTLS required before any login; "" disables a listener
  std::string imaps = "127.0.0.1:2993";
  std::string pop3 = "127.0.0.1:2110";  // STLS required before any login
  std::string pop3s = "127.0.0.1:2995";
  std::string dovecot = "/usr/sbin/dovecot";  // the binary (Debian dovecot-core 2.3)
  int restart_max_s = 30;                     // restart backoff after Dovecot dies: 0.5 s doubling up to this
};

// Logins of local users.
struct user_settings {
  bool require_app_passwords = false;  // account passwords refused on IMAP, POP3 and submission: app passwords only
};

// Addresses of hosted domains (issue 20, src/address/): aliases, subaddresses, postmaster@ and abuse@.
struct address_settings {
  std::string subaddress_delimiter = "+";  // user+tag@ reaches user (folder `tag` when it exists); "" = off
  std::size_t max_alias_depth = 8;         // nested aliases followed at most this deep (deeper: 550 5.4.6)
  std::size_t max_remote_targets = 10;     // remote forwarding targets one message may fan out to (550 5.7.1)
  std::string postmaster;          // where postmaster@/abuse@ go when no user or alias has them; "" = first user
  bool srs = true;                 // forwards to remote targets get an SRS envelope sender (address/srs.hpp)
  std::string srs_domain;          // the SRS addresses' domain; "" = the first of `domains` (must be hosted)
  unsigned srs_max_age_days = 21;  // a bounce to an older SRS address is refused (550 5.7.1)
};

// Content filtering (src/filter/, docs/filter.md): milters asked in order at the end of DATA, before the 250.
struct milter {
  std::string name;                         // for logs and metrics
  std::string address;                      // "inet:host:port", "inet:port@host", "unix:/path"
  std::string default_action = "tempfail";  // when the milter is down, slow or speaks nonsense: tempfail|accept|reject
  int connect_timeout_s = 30;               // Postfix's milter_connect_timeout
  int command_timeout_s = 30;               // each event but the body: milter_command_timeout
  int content_timeout_s = 300;              // body chunks and end of message: milter_content_timeout
  std::vector<std::string> listeners = {"mx", "submission", "submissions"};  // where it applies
  // Its refusals are malware verdicts (clamav-milter): one of an authenticated user raises `outbound_malware`.
  // Also inferred from an `X-Virus-Status: Infected` header the milter adds before refusing.
  bool antivirus = false;
};
struct filter {
  std::vector<milter> milters;
  // The built-in attachment policy: 550 5.7.1 for a message with an attachment whose name has one of these
  // extensions (or whose type is an executable's), in any nested part; archives are logged, not opened.
  bool attachment_policy = true;
  std::vector<std::string> blocked_extensions = {"exe", "scr", "js",  "vbs", "bat",  "cmd", "com",
                                                 "pif", "jar", "lnk", "iso", "docm", "xlsm"};
  // rspamd, and clamd + clamav-milter, run and supervised by `mailfort serve` (src/filter/services.*) with
  // configurations generated under data_dir, listening on loopback only. Each is added to the milter chain
  // (rspamd, then clamav, default action tempfail) unless [[filter.milter]] tables are listed.
  bool rspamd = false;
  std::string rspamd_address = "127.0.0.1:11332";  // its proxy worker in milter mode
  std::string rspamd_binary = "/usr/bin/rspamd";
  bool clamav = false;
  std::string clamav_address = "127.0.0.1:11336";   // clamav-milter
  std::string clamd_address = "127.0.0.1:11337";    // clamd (TCP, loopback), used by clamav-milter only
  std::string clamav_database = "/var/lib/clamav";  // signatures (freshclam's, or your own .ndb/.hdb files)
  std::string clamd_binary = "/usr/sbin/clamd";
  std::string clamav_milter_binary = "/usr/sbin/clamav-milter";
  int restart_max_s = 30;  // restart backoff after one of them dies: 0.5 s doubling up to this
};

// MTA-STS policy hosting (RFC 8461 3.2; src/publish/): an HTTPS listener that serves only
// /.well-known/mta-sts.txt for Host mta-sts.<domain> of each local domain, with the certificate of [tls].
struct mta_sts {
  std::string listen = "127.0.0.1:2443";  // 443 in production; "" disables the listener
  std::string mode = "testing";           // "testing", "enforce" or "none" (RFC 8461 5)
  int max_age = 604800;                   // seconds senders cache the policy (at most 31557600)
  std::vector<std::string> mx;            // extra mx patterns; the hostname is always listed
};

struct config {
  std::string hostname = "localhost";
  std::vector<std::string> domains = {"localhost"};
  std::string data_dir = "./var";
  struct listeners listeners;
  struct tls tls;
  struct dns dns;
  struct relay relay;
  struct outbound_settings outbound;
  struct queue_settings queue;
  struct state state;
  struct limits limits;
  struct server server;
  struct greeting greeting;
  struct auth auth;
  struct dkim dkim;
  struct monitor monitor;
  struct ratelimit ratelimit;
  struct ban ban;
  struct imap imap;
  struct user_settings user;
  struct address_settings address;
  struct filter filter;
  struct mta_sts mta_sts;
  std::string source_file;  // where it was loaded from, empty for embedded defaults
};

// One problem found in a config file: a hard error (the file cannot be used) or a security finding.
struct diagnostic {
  enum class kind { error, finding } kind = kind::error;
  std::string severity;  // for findings: "critical", "high", "medium", "low", "info"
  std::string file;
  int line = 0;  // 0 when not tied to a line
  std::string key;
  std::string message;  // what is wrong and how to fix it
};

struct load_result {
  config cfg;
  std::vector<diagnostic> diagnostics;
  // Where the file set each key ("relay.trusted_networks") or section ("tls"), so findings can point at it.
  std::map<std::string, int> key_lines;
  bool ok() const {
    for (auto& d : diagnostics)
      if (d.kind == diagnostic::kind::error) return false;
    return true;
  }
};

// Parse a TOML file on top of the embedded defaults. Unknown keys and wrong types are errors with file:line.
load_result load_file(const std::string& path);
// Same, from text (for tests); `name` is used as the file name in diagnostics.
load_result load_string(const std::string& text, const std::string& name);

// Security findings on a loaded config: open relay networks, TLS < 1.2, AUTH without TLS, etc.
std::vector<diagnostic> check_security(const config& cfg);
// Same, with each finding's line set to where the loaded file set that key (0 when it kept the default).
std::vector<diagnostic> check_security(const load_result& loaded);
// Does `dir` hold a ClamAV signature database (a non-empty .cvd, .cld, .ndb, .hdb, ... file)?
bool has_clamav_database(const std::string& dir);
// A finding `mailfort serve` refuses to start with (and a SIGHUP reload refuses to apply) unless it runs with
// --allow-insecure: every critical one (open relay, queue.discard, submission on a public address with only the
// self-signed certificate).
bool blocks_serve(const diagnostic& d);

// The annotated embedded defaults, as valid TOML (what `mailfort config defaults` prints and etc/mailfort.toml holds).
std::string annotated_defaults();

}  // namespace mailfort::config
