// audit/smtp_audit.cpp: the `audit smtp` driver: one short connection per probe; the early-talker probe
// first (a fresh client), then the benign probes, and those a hardened server punishes (STARTTLS injection,
// smuggling) last.
// SPDX-License-Identifier: MIT
#include "audit/smtp_audit.hpp"

#include "audit/probe.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>

namespace mailfort::audit {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::string text_of(const outbound::server_reply& r) {
  std::string s;
  for (const auto& l : r.lines) s += (s.empty() ? "" : " / ") + l;
  return s;
}

std::string show(const std::optional<outbound::server_reply>& r, const probe& p) {
  if (!r) return "no reply (" + p.error() + ")";
  return std::to_string(r->code) + " " + text_of(*r);
}

// Connect, read the greeting, EHLO. The EHLO capabilities or nullopt (reason in why).
asio::awaitable<std::optional<outbound::ehlo_capabilities>> open_session(
    probe& p, const smtp_audit_options& opt, std::uint16_t port, std::string& why,
    std::optional<outbound::server_reply>* banner = nullptr, std::optional<outbound::server_reply>* ehlo = nullptr) {
  std::string e = co_await p.connect(opt.host, port);
  if (!e.empty()) {
    why = e;
    co_return std::nullopt;
  }
  auto b = co_await p.reply();
  if (banner) *banner = b;
  if (!b || b->code != 220) {
    why = "greeting: " + show(b, p);
    co_return std::nullopt;
  }
  std::string cmd = "EHLO " + opt.helo;
  auto r = co_await p.command(std::move(cmd));
  if (ehlo) *ehlo = r;
  if (!r || r->code != 250) {
    why = "EHLO: " + show(r, p);
    co_return std::nullopt;
  }
  co_return outbound::parse_ehlo(*r);
}

// STARTTLS + handshake + EHLO again. Empty on success.
asio::awaitable<std::string> upgrade(probe& p, const smtp_audit_options& opt, const probe_tls& tls,
                                     std::optional<outbound::ehlo_capabilities>* caps = nullptr) {
  auto r = co_await p.command("STARTTLS");
  if (!r || r->code != 220) co_return "STARTTLS: " + show(r, p);
  if (p.has_pending_input()) co_return "bytes after the 220 to STARTTLS (response injection)";
  auto name = opt.tls_name.empty() ? opt.host : opt.tls_name;
  std::string hs = co_await p.handshake(tls, name);
  if (!hs.empty()) co_return hs;
  std::string cmd = "EHLO " + opt.helo;
  auto e = co_await p.command(std::move(cmd));
  if (!e || e->code != 250) co_return "EHLO after STARTTLS: " + show(e, p);
  if (caps) *caps = outbound::parse_ehlo(*e);
  co_return std::string();
}

std::string banner_name(const smtp_observations& o) {
  if (!o.banner || o.banner->lines.empty()) return {};
  const auto& l = o.banner->lines.front();
  auto sp = l.find(' ');
  std::string n = l.substr(0, sp);
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-')) return {};
  return n;
}

// What every step of probe_smtp shares: the executor, the options, the observations so far and the report.
struct smtp_probe_run {
  asio::any_io_executor ex;
  const smtp_audit_options& opt;
  smtp_observations& o;
  report& rep;
  // Named, never a temporary inside a co_await expression (GCC 12).
  const probe_tls default_tls;
};

// 0. Early talker: EHLO before the greeting, on the very first connection (a server with a greeting delay
//    that remembers well-behaved clients, as mailfort and postscreen do, would not delay a later one).
asio::awaitable<void> probe_early_talker(smtp_probe_run& run) {
  const auto ex = run.ex;
  const smtp_audit_options& opt = run.opt;
  smtp_observations& o = run.o;
  report& rep = run.rep;
  if (opt.early_talker) {
    probe p(ex, opt.timeout);
    std::string ce = co_await p.connect(opt.host, opt.port);
    if (!ce.empty()) {
      rep.error("smtp.early_talker", control_area::protocol, ce);
    } else {
      std::string early = "EHLO " + opt.helo + "\r\n";
      co_await p.send(std::move(early));
      auto b = co_await p.reply();
      std::optional<outbound::server_reply> r;
      if (b && b->code == 220) r = co_await p.reply();
      if (b && b->code == 220 && r && r->code == 250) {
        o.early_talker = smtp_observations::early_talk::tolerated;
        o.early_evidence = "EHLO sent before the greeting was answered: " + show(r, p);
      } else {
        o.early_talker = smtp_observations::early_talk::rejected;
        o.early_evidence = "greeting: " + show(b, p) + (r ? ", then " + show(r, p) : "");
      }
      co_await p.command("QUIT");
      rep.ran("smtp.early_talker", control_area::protocol);
    }
  } else {
    rep.skipped("smtp.early_talker", control_area::protocol, "disabled");
  }
}

// 1. Main session: greeting, EHLO, VRFY/EXPN, STARTTLS, EHLO inside TLS, certificate.
//    false: no session (nothing else can run).
asio::awaitable<bool> probe_main_session(smtp_probe_run& run) {
  const auto ex = run.ex;
  const smtp_audit_options& opt = run.opt;
  smtp_observations& o = run.o;
  report& rep = run.rep;
  const probe_tls& default_tls = run.default_tls;
  probe p(ex, opt.timeout);
  std::string why;
  auto caps = co_await open_session(p, opt, opt.port, why, &o.banner, &o.ehlo_reply);
  if (!caps) {
    o.connected = o.banner.has_value();
    o.connect_error = why;
    if (!o.banner) {
      rep.could_not_run = true;
      rep.failure = "cannot open an SMTP session with " + subject_of(o) + ": " + why;
      co_return false;
    }
    rep.error("smtp.ehlo", control_area::protocol, why);
    co_return false;
  }
  o.connected = true;
  o.ehlo = caps;
  rep.ran("smtp.banner", control_area::disclosure);
  rep.ran("smtp.capabilities", control_area::auth);
  std::vector<std::string> users = {"postmaster"};
  users.insert(users.end(), opt.users.begin(), opt.users.end());
  if (!opt.user_probes) users.clear();
  for (const auto& u : users) {
    for (const char* cmd : {"VRFY", "EXPN"}) {
      std::string line = std::string(cmd) + " " + u;
      auto r = co_await p.command(std::move(line));
      if (!r) break;
      o.user_probes.push_back({cmd, u, r->code, text_of(*r), false});
    }
  }
  if (opt.user_probes && !p.is_closed()) {
    auto r = co_await p.command("VRFY no-such-user-mailfort-audit");
    if (r) o.user_probes.push_back({"VRFY", "no-such-user-mailfort-audit", r->code, text_of(*r), true});
  }
  if (opt.user_probes) rep.ran("smtp.vrfy_expn", control_area::disclosure);
  if (caps->starttls && !p.is_closed()) {
    o.starttls_attempted = true;
    auto e = co_await upgrade(p, opt, default_tls, &o.ehlo_tls);
    o.starttls_ok = e.empty();
    o.starttls_error = e;
    if (o.starttls_ok) {
      o.chain_der = p.peer_chain_der();
      o.chain_trusted = p.chain_verified();
      o.verify_error = p.verify_error();
      o.negotiated_version = p.tls_version();
      o.negotiated_cipher = p.tls_cipher();
    }
    rep.ran("smtp.starttls", control_area::tls);
    rep.ran("smtp.certificate", control_area::certificate);
    co_await p.command("QUIT");
  } else {
    rep.ran("smtp.starttls", control_area::tls, "STARTTLS not offered");
    co_await p.command("QUIT");
  }
  co_return true;
}

// 2. TLS versions, one connection each.
asio::awaitable<void> probe_tls_versions(smtp_probe_run& run) {
  const auto ex = run.ex;
  const smtp_audit_options& opt = run.opt;
  smtp_observations& o = run.o;
  report& rep = run.rep;
  if (opt.tls_versions && o.ehlo && o.ehlo->starttls) {
    for (const char* v : {"1.0", "1.1", "1.2", "1.3"}) {
      probe p(ex, opt.timeout);
      tls_version_probe t;
      t.version = v;
      std::string why;
      auto caps = co_await open_session(p, opt, opt.port, why);
      if (!caps) {
        t.detail = why;
      } else {
        const probe_tls pinned{v, opt.ca_file, ""};
        auto e = co_await upgrade(p, opt, pinned);
        if (e.empty()) {
          t.res = tls_version_probe::result::accepted;
          t.detail = p.tls_version() + " " + p.tls_cipher();
          co_await p.command("QUIT");
        } else {
          t.res = e.rfind("TLS handshake failed", 0) == 0 ? tls_version_probe::result::refused
                                                          : tls_version_probe::result::error;
          t.detail = e;
        }
      }
      o.versions.push_back(t);
    }
    rep.ran("smtp.tls_versions", control_area::tls);
    // One TLS 1.2 handshake per cipher class, each offering only that class: did the server pick one?
    struct cipher_probe {
      const char* check;
      const char* ciphers;
      std::optional<bool>* accepted;
      std::string* detail;
    };
    const cipher_probe cipher_probes[] = {
        {"smtp.weak_ciphers", "3DES:RC4:eNULL:EXPORT:DES:MD5", &o.weak_cipher_accepted, &o.weak_cipher_detail},
        // Static RSA key exchange: no forward secrecy (only possible with an RSA certificate).
        {"smtp.static_rsa_ciphers", "kRSA:!aNULL:!eNULL", &o.static_rsa_accepted, &o.static_rsa_detail},
    };
    for (const auto& cp : cipher_probes) {
      probe p(ex, opt.timeout);
      std::string why;
      auto caps = co_await open_session(p, opt, opt.port, why);
      if (caps) {
        const probe_tls offered{"1.2", opt.ca_file, cp.ciphers};
        std::string e = co_await upgrade(p, opt, offered);
        *cp.accepted = e.empty();
        *cp.detail = e.empty() ? p.tls_version() + " " + p.tls_cipher() : e;
        if (e.empty()) co_await p.command("QUIT");
        rep.ran(cp.check, control_area::tls, *cp.detail);
      } else {
        rep.error(cp.check, control_area::tls, why);
      }
    }
  } else {
    rep.skipped("smtp.tls_versions", control_area::tls, opt.tls_versions ? "STARTTLS not offered" : "disabled");
  }
}

// 3. Open relay: RCPT only, RSET between forms.
asio::awaitable<void> probe_open_relay(smtp_probe_run& run) {
  const auto ex = run.ex;
  const smtp_audit_options& opt = run.opt;
  smtp_observations& o = run.o;
  report& rep = run.rep;
  const probe_tls& default_tls = run.default_tls;
  if (opt.relay) {
    probe p(ex, opt.timeout);
    std::string why;
    auto caps = co_await open_session(p, opt, opt.port, why);
    if (!caps) {
      rep.error("smtp.open_relay", control_area::relay, why);
    } else {
      auto forms = opt.relay_full && !opt.relay_target.empty()
                       ? std::vector<relay_attempt>{}
                       : relay_forms("relay-audit", opt.relay_domain, p.peer_ip(), banner_name(o));
      if (opt.relay_full && !opt.relay_target.empty()) {
        relay_attempt a;
        a.form = "full";
        a.mail_from = "relay-audit@" + opt.relay_domain;
        a.rcpt = opt.relay_target;
        forms.push_back(a);
      }
      bool upgraded = false;
      for (auto& a : forms) {
        std::string mail_cmd = "MAIL FROM:<" + a.mail_from + ">";
        auto m = co_await p.command(mail_cmd);
        // 530: the server wants STARTTLS before any transaction; relaying inside TLS is still relaying.
        if (m && m->code == 530 && !upgraded && caps->starttls) {
          upgraded = true;
          std::string e = co_await upgrade(p, opt, default_tls);
          if (!e.empty()) break;
          m = co_await p.command(mail_cmd);
        }
        if (!m) break;
        a.mail_code = m->code;
        if (m->positive()) {
          std::string rcpt_cmd = "RCPT TO:<" + a.rcpt + ">";
          auto r = co_await p.command(std::move(rcpt_cmd));
          if (!r) {
            o.relay.push_back(a);
            break;
          }
          a.rcpt_code = r->code;
          a.rcpt_text = text_of(*r);
          if (opt.relay_full && a.form == "full" && r->positive()) {
            auto d = co_await p.command("DATA");
            if (d && d->code == 354) {
              std::string msg = "From: <relay-audit@" + opt.relay_domain + ">\r\nTo: <" + opt.relay_target +
                                ">\r\nSubject: mailfort relay audit\r\n\r\nThis message was relayed by " +
                                subject_of(o) + " without authentication.\r\n.\r\n";
              co_await p.send(std::move(msg));
              auto e = co_await p.reply();
              a.data_code = e ? e->code : 0;
            }
          }
        }
        o.relay.push_back(a);
        auto rs = co_await p.command("RSET");
        if (!rs) break;
      }
      co_await p.command("QUIT");
      rep.ran("smtp.open_relay", control_area::relay, std::to_string(o.relay.size()) + " forms tried");
    }
  }
}

// 3b. Pipelining (RFC 2920): PIPELINING advertised? A valid group (MAIL, RSET, NOOP) in one write: all
//     three answered, in order?
asio::awaitable<void> probe_pipelining(smtp_probe_run& run) {
  const auto ex = run.ex;
  const smtp_audit_options& opt = run.opt;
  smtp_observations& o = run.o;
  report& rep = run.rep;
  if (opt.pipelining && o.ehlo && o.ehlo->pipelining) {
    probe p(ex, opt.timeout);
    std::string why;
    auto caps = co_await open_session(p, opt, opt.port, why);
    if (!caps) {
      rep.error("smtp.pipelining", control_area::protocol, why);
    } else {
      const std::string group = "MAIL FROM:<pipelining-audit@" + opt.relay_domain + ">\r\nRSET\r\nNOOP\r\n";
      co_await p.send(group);
      std::string ev;
      int answered = 0;
      for (const char* cmd : {"MAIL", "RSET", "NOOP"}) {
        auto r = co_await p.reply();
        ev += std::string(ev.empty() ? "" : ", ") + cmd + " -> " + show(r, p);
        if (!r) break;
        ++answered;
      }
      o.pipelining.grp = answered == 3 ? pipelining_obs::group::answered : pipelining_obs::group::broken;
      o.pipelining.group_evidence = "MAIL, RSET and NOOP in one write: " + ev;
      co_await p.command("QUIT");
      rep.ran("smtp.pipelining", control_area::protocol, std::to_string(answered) + " of 3 pipelined replies");
    }
  } else {
    rep.skipped("smtp.pipelining", control_area::protocol, opt.pipelining ? "PIPELINING not advertised" : "disabled");
  }
}

// 4. Port roles.
asio::awaitable<void> probe_port_roles(smtp_probe_run& run) {
  const auto ex = run.ex;
  const smtp_audit_options& opt = run.opt;
  smtp_observations& o = run.o;
  report& rep = run.rep;
  const probe_tls& default_tls = run.default_tls;
  auto role_probe = [&](std::string role, std::uint16_t port, bool implicit) -> asio::awaitable<void> {
    port_probe pp;
    pp.role = role;
    pp.port = port;
    probe p(ex, opt.timeout);
    std::string ce = co_await p.connect(opt.host, port);
    if (!ce.empty()) {
      pp.error = ce;
      rep.error("smtp.port." + role, control_area::auth, std::to_string(port) + ": " + ce);
      o.ports.push_back(pp);
      co_return;
    }
    pp.reachable = true;
    if (implicit) {
      pp.implicit_tls = true;
      auto e = co_await p.handshake(default_tls, opt.tls_name.empty() ? opt.host : opt.tls_name);
      pp.tls_ok = e.empty();
      pp.error = e;
      if (pp.tls_ok) {
        auto b = co_await p.reply();
        std::optional<outbound::server_reply> r;
        std::string cmd = "EHLO " + opt.helo;
        if (b) r = co_await p.command(std::move(cmd));
        if (r && r->code == 250)
          if (auto c = outbound::parse_ehlo(*r)) pp.auth_after_tls = c->auth;
      }
    } else {
      auto b = co_await p.reply();
      std::optional<outbound::server_reply> r;
      std::string cmd = "EHLO " + opt.helo;
      if (b && b->code == 220) r = co_await p.command(std::move(cmd));
      if (r && r->code == 250) {
        if (auto c = outbound::parse_ehlo(*r)) {
          pp.starttls_offered = c->starttls;
          pp.auth_before_tls = c->auth;
          if (c->starttls) {
            std::optional<outbound::ehlo_capabilities> after;
            auto e = co_await upgrade(p, opt, default_tls, &after);
            pp.tls_ok = e.empty();
            pp.error = e;
            if (after) pp.auth_after_tls = after->auth;
          }
        }
      } else {
        pp.error = "greeting/EHLO: " + show(r ? r : b, p);
      }
    }
    co_await p.command("QUIT");
    rep.ran("smtp.port." + role, control_area::auth, std::to_string(port));
    o.ports.push_back(pp);
  };
  if (opt.submission_port) {
    std::string role = "submission";
    co_await role_probe(std::move(role), *opt.submission_port, false);
  }
  if (opt.smtps_port) {
    std::string role = "smtps";
    co_await role_probe(std::move(role), *opt.smtps_port, true);
  }
}

// 6. STARTTLS injection (testssl.sh): "STARTTLS\r\nEHLO ..." in one write; an EHLO reply arriving
//    unprompted inside TLS means the server kept the plaintext bytes.
//    false: the TLS handshake failed here although the main session's worked (the probes after it are skipped).
asio::awaitable<bool> probe_starttls_injection(smtp_probe_run& run) {
  const auto ex = run.ex;
  const smtp_audit_options& opt = run.opt;
  smtp_observations& o = run.o;
  report& rep = run.rep;
  const probe_tls& default_tls = run.default_tls;
  if (opt.injection && o.ehlo && o.ehlo->starttls && o.starttls_ok) {
    probe p(ex, opt.timeout);
    std::string why;
    auto caps = co_await open_session(p, opt, opt.port, why);
    if (!caps) {
      rep.error("smtp.starttls_injection", control_area::tls, why);
    } else {
      co_await p.send("STARTTLS\r\nEHLO injected.mailfort.invalid\r\n");
      auto r = co_await p.reply();
      if (!r || r->code != 220) {
        o.starttls_injection = smtp_observations::injection::safe;
        o.injection_evidence = "STARTTLS with pipelined EHLO refused: " + show(r, p);
      } else if (p.has_pending_input()) {
        o.starttls_injection = smtp_observations::injection::safe;
        o.injection_evidence = "the pipelined EHLO was answered before TLS";
      } else {
        std::string he = co_await p.handshake(default_tls, o.tls_name);
        if (!he.empty()) {
          o.starttls_injection = smtp_observations::injection::inconclusive;
          o.injection_evidence = he;
          co_await p.command("QUIT");
          rep.ran("smtp.starttls_injection", control_area::tls, o.injection_evidence);
          co_return false;  // unreachable in practice: the main session's handshake worked
        }
        auto extra = co_await p.reply(std::chrono::milliseconds(std::min<long long>(opt.timeout.count(), 2000)));
        if (extra) {
          o.starttls_injection = smtp_observations::injection::vulnerable;
          o.injection_evidence = "unprompted reply inside TLS: " + show(extra, p);
        } else {
          o.starttls_injection = smtp_observations::injection::safe;
          o.injection_evidence = "no reply to the injected EHLO inside TLS";
        }
      }
      co_await p.command("QUIT");
      rep.ran("smtp.starttls_injection", control_area::tls, o.injection_evidence);
    }
  } else {
    rep.skipped("smtp.starttls_injection", control_area::tls, opt.injection ? "no working STARTTLS" : "disabled");
  }
  co_return true;
}

// 6b. DATA sync point (RFC 2920 3.1): "DATA" and a header line in one write, before the 354. A server that
//     then waits for more content took the early bytes as message content. The end of data is never
//     sent: the connection is dropped inside DATA, so no message is delivered. Punished by hardened servers
//     (mailfort and Postfix with smtpd_forbid_unauth_pipelining close the connection): runs late.
asio::awaitable<void> probe_pipelining_data(smtp_probe_run& run) {
  const auto ex = run.ex;
  const smtp_audit_options& opt = run.opt;
  smtp_observations& o = run.o;
  report& rep = run.rep;
  const probe_tls& default_tls = run.default_tls;
  if (opt.pipelining && o.ehlo) {
    std::string rcpt = opt.smuggling_rcpt.empty() ? "postmaster@" + banner_name(o) : opt.smuggling_rcpt;
    probe p(ex, opt.timeout);
    std::string why;
    auto caps = co_await open_session(p, opt, opt.port, why);
    auto& ps = o.pipelining;
    if (!caps) {
      rep.error("smtp.pipelining_data", control_area::protocol, why);
    } else {
      std::string mail_cmd = "MAIL FROM:<pipelining-audit@" + opt.relay_domain + ">";
      auto m = co_await p.command(mail_cmd);
      if (m && m->code == 530 && caps->starttls) {  // STARTTLS required first: the sync point is the same inside
        std::string e = co_await upgrade(p, opt, default_tls);
        if (e.empty()) m = co_await p.command(mail_cmd);
      }
      std::optional<outbound::server_reply> r;
      std::string rcpt_cmd = "RCPT TO:<" + rcpt + ">";
      if (m && m->positive()) r = co_await p.command(std::move(rcpt_cmd));
      if (!r || !r->positive()) {
        ps.data = pipelining_obs::data_sync::inconclusive;
        ps.data_evidence = "no recipient accepted (" + rcpt + "; use --smuggling-rcpt): " + show(r ? r : m, p);
        co_await p.command("QUIT");
        rep.error("smtp.pipelining_data", control_area::protocol, ps.data_evidence);
      } else {
        const std::string early = "DATA\r\nX-Mailfort-Audit: sent before the 354 reply\r\n";
        co_await p.send(early);
        auto d = co_await p.reply();
        if (!d) {
          ps.data = p.is_closed() ? pipelining_obs::data_sync::rejected : pipelining_obs::data_sync::inconclusive;
          ps.data_evidence = "DATA with a line behind it: " + show(d, p);
        } else if (d->code != 354) {
          ps.data = pipelining_obs::data_sync::rejected;
          ps.data_evidence = "DATA with a line behind it: " + show(d, p);
        } else {
          const auto wait = std::chrono::milliseconds(std::min<long long>(opt.timeout.count(), 2000));
          auto after = co_await p.reply(wait);
          if (after || p.is_closed()) {
            ps.data = pipelining_obs::data_sync::rejected;
            ps.data_evidence = "354, then " + show(after, p);
          } else {
            ps.data = pipelining_obs::data_sync::tolerated;
            ps.data_evidence = "DATA and a header line in one write: " + show(d, p) +
                               ", then no objection: the line sent before the 354 became message content";
          }
        }
        p.close();  // inside DATA: never send the end of data
        rep.ran("smtp.pipelining_data", control_area::protocol, ps.data_evidence);
      }
    }
  } else {
    rep.skipped("smtp.pipelining_data", control_area::protocol, opt.pipelining ? "no EHLO" : "disabled");
  }
}

// 7. Smuggling (opt-in): one connection per fake end-of-data sequence.
asio::awaitable<void> probe_smuggling(smtp_probe_run& run) {
  const auto ex = run.ex;
  const smtp_audit_options& opt = run.opt;
  smtp_observations& o = run.o;
  report& rep = run.rep;
  if (opt.smuggling) {
    std::string rcpt = opt.smuggling_rcpt.empty() ? "postmaster@" + banner_name(o) : opt.smuggling_rcpt;
    for (const auto& v : eod_variants()) {
      smuggling_probe s;
      s.variant = v.name;
      s.notation = v.notation;
      probe p(ex, opt.timeout);
      std::string why;
      auto caps = co_await open_session(p, opt, opt.port, why);
      if (!caps) {
        s.evidence = why;
        o.smuggling.push_back(s);
        continue;
      }
      std::string mail_cmd = "MAIL FROM:<smuggling-audit@" + opt.relay_domain + ">";
      auto m = co_await p.command(std::move(mail_cmd));
      std::optional<outbound::server_reply> r, d;
      std::string rcpt_cmd = "RCPT TO:<" + rcpt + ">";
      if (m && m->positive()) r = co_await p.command(std::move(rcpt_cmd));
      if (r && r->positive()) d = co_await p.command("DATA");
      if (!d || d->code != 354) {
        s.evidence = "could not reach DATA: " + show(d ? d : r ? r : m, p);
        o.smuggling.push_back(s);
        co_await p.command("QUIT");
        continue;
      }
      std::string body = "From: <smuggling-audit@" + opt.relay_domain + ">\r\nTo: <" + rcpt +
                         ">\r\nSubject: mailfort smuggling audit " + v.name + "\r\n\r\nsmuggling probe";
      body.append(v.bytes);
      co_await p.send(body);
      auto early = co_await p.reply(opt.smuggling_wait);
      if (early) {
        s.result = early->positive() ? smuggling_probe::outcome::end_of_data : smuggling_probe::outcome::rejected;
        s.evidence = "answered before the real end of data: " + show(early, p);
      } else if (p.is_closed()) {
        s.result = smuggling_probe::outcome::rejected;
        s.evidence = "connection closed";
      } else {
        co_await p.send("\r\n.\r\n");
        auto fin = co_await p.reply();
        if (fin && fin->positive()) {
          s.result = smuggling_probe::outcome::content;
          s.evidence = show(fin, p);
        } else if (fin || p.is_closed()) {
          s.result = smuggling_probe::outcome::rejected;
          s.evidence = show(fin, p);
        } else {
          s.evidence = show(fin, p);
        }
      }
      o.smuggling.push_back(s);
      co_await p.command("QUIT");
    }
    std::size_t inconclusive = 0;
    for (const auto& s : o.smuggling) inconclusive += s.result == smuggling_probe::outcome::inconclusive;
    if (inconclusive == o.smuggling.size())
      rep.error("smtp.smuggling", control_area::protocol,
                "no variant reached a verdict (recipient " + rcpt + " refused? use --smuggling-rcpt): " +
                    (o.smuggling.empty() ? std::string() : o.smuggling.front().evidence));
    else
      rep.ran("smtp.smuggling", control_area::protocol,
              std::to_string(o.smuggling.size() - inconclusive) + " of " + std::to_string(o.smuggling.size()) +
                  " variants decided");
  } else {
    rep.skipped("smtp.smuggling", control_area::protocol, "opt-in: --smuggling (sends test messages)");
  }
}

}  // namespace

void judge_smtp(const smtp_observations& o, const smtp_check_options& opt, std::vector<finding>& out) {
  check_banner(o, out);
  check_capabilities(o, opt, out);
  check_tls(o, out);
  check_certificate(o, opt, out);
  check_user_enumeration(o, out);
  check_relay(o, out);
  check_smuggling(o, out);
  check_ports(o, out);
  check_pipelining(o, out);
}

asio::awaitable<smtp_observations> probe_smtp(asio::any_io_executor ex, smtp_audit_options opt, report& rep) {
  smtp_observations o;
  o.host = opt.host;
  o.port = opt.port;
  o.tls_name = opt.tls_name.empty() ? opt.host : opt.tls_name;
  smtp_probe_run run{ex, opt, o, rep, probe_tls{"", opt.ca_file, ""}};
  // The steps in their numbered order (see the comment of each).
  co_await probe_early_talker(run);
  if (!co_await probe_main_session(run)) co_return o;
  co_await probe_tls_versions(run);
  co_await probe_open_relay(run);
  co_await probe_pipelining(run);
  co_await probe_port_roles(run);
  if (!co_await probe_starttls_injection(run)) co_return o;
  co_await probe_pipelining_data(run);
  co_await probe_smuggling(run);
  co_return o;
}

report run_smtp_audit(const smtp_audit_options& opt) {
  report rep;
  rep.kind = "smtp";
  rep.version = MAILFORT_AUDIT_VERSION;
  rep.target = opt.host + ":" + std::to_string(opt.port);
  auto t0 = std::chrono::steady_clock::now();
  rep.started_at =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (opt.mailbox_probe) {
    mailbox_audit_options mo;
    mo.tls_name = opt.tls_name;
    mo.ca_file = opt.ca_file;
    mo.timeout = opt.timeout;
    mo.tls_versions = opt.tls_versions;
    add_mailbox_probes(rep, opt.host, opt.mailbox, mo);
  }
  asio::io_context io;
  smtp_observations obs;
  std::exception_ptr err;
  asio::co_spawn(io, probe_smtp(io.get_executor(), opt, rep), [&](std::exception_ptr e, smtp_observations o) {
    err = e;
    obs = std::move(o);
  });
  io.run();
  if (err) {
    try {
      std::rethrow_exception(err);
    } catch (const std::exception& e) {
      rep.could_not_run = true;
      rep.failure = e.what();
    }
  }
  if (!rep.could_not_run) {
    smtp_check_options co;
    co.now = rep.started_at;
    co.mx_role = true;
    judge_smtp(obs, co, rep.findings);
  }
  rep.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  rep.sort();
  return rep;
}

}  // namespace mailfort::audit
