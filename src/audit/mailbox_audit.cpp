// audit/mailbox_audit.cpp: the IMAP/POP3 probe (blocking sockets with deadlines, OpenSSL) and its checks.
// SPDX-License-Identifier: MIT
// Untrusted input: everything the server sends. Lines are cut at 8 KiB, at most 200 lines are read per reply,
// and every remote string goes into the report as evidence (escaped by the renderers).
#include "audit/mailbox_audit.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>

namespace mailfort::audit {

namespace {

constexpr std::size_t k_max_line = 8192;
constexpr int k_max_lines = 200;

std::string upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

bool contains(const std::string& hay, const char* needle) { return upper(hay).find(needle) != std::string::npos; }

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (!e) return "handshake failed";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

bool is_ip_literal(const std::string& h) {
  unsigned char b[16];
  return inet_pton(AF_INET, h.c_str(), b) == 1 || inet_pton(AF_INET6, h.c_str(), b) == 1;
}

// One blocking connection with a deadline on every operation (SO_RCVTIMEO / SO_SNDTIMEO), plaintext or TLS.
class line_conn {
 public:
  explicit line_conn(std::chrono::milliseconds timeout) : timeout_(timeout) {}
  ~line_conn() { close(); }
  line_conn(const line_conn&) = delete;
  line_conn& operator=(const line_conn&) = delete;

  // Empty on success, else why not.
  std::string connect(const std::string& host, std::uint16_t port, const std::string& source) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string p = std::to_string(port);
    if (int rc = ::getaddrinfo(host.c_str(), p.c_str(), &hints, &res); rc != 0) return ::gai_strerror(rc);
    std::string err = "no address";
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
      int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0) continue;
      timeval tv{static_cast<time_t>(timeout_.count() / 1000),
                 static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      if (!source.empty()) {
        addrinfo sh{};
        sh.ai_family = ai->ai_family;
        sh.ai_socktype = SOCK_STREAM;
        sh.ai_flags = AI_NUMERICHOST;
        addrinfo* sres = nullptr;
        if (::getaddrinfo(source.c_str(), "0", &sh, &sres) != 0 || ::bind(fd, sres->ai_addr, sres->ai_addrlen) != 0) {
          err = "cannot bind source address " + source;
          if (sres) ::freeaddrinfo(sres);
          ::close(fd);
          continue;
        }
        ::freeaddrinfo(sres);
      }
      if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        fd_ = fd;
        ::freeaddrinfo(res);
        return {};
      }
      err = std::strerror(errno);
      ::close(fd);
    }
    ::freeaddrinfo(res);
    return err;
  }

  bool send(std::string_view s) {
    std::size_t off = 0;
    while (off < s.size()) {
      int n = ssl_ ? SSL_write(ssl_, s.data() + off, static_cast<int>(s.size() - off))
                   : static_cast<int>(::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL));
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  // One line without CR LF; nullopt on timeout, close or an over-long line.
  std::optional<std::string> line() {
    while (true) {
      auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        if (!l.empty() && l.back() == '\r') l.pop_back();
        return l;
      }
      if (buf_.size() > k_max_line || fd_ < 0) return std::nullopt;
      char tmp[4096];
      int n = ssl_ ? SSL_read(ssl_, tmp, sizeof tmp) : static_cast<int>(::recv(fd_, tmp, sizeof tmp, 0));
      if (n <= 0) return std::nullopt;
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }

  // TLS on the connection. version "": TLS 1.2+ with OpenSSL's defaults; else pinned at security level 0.
  std::string handshake(const std::string& version, const std::string& ca_file, const std::string& sni) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ctx_) return "SSL_CTX_new failed";
    if (version.empty()) {
      SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    } else {
      int v = version == "1.0"   ? TLS1_VERSION
              : version == "1.1" ? TLS1_1_VERSION
              : version == "1.2" ? TLS1_2_VERSION
                                 : TLS1_3_VERSION;
      SSL_CTX_set_security_level(ctx_, 0);
      SSL_CTX_set_cipher_list(ctx_, "ALL:@SECLEVEL=0");
      SSL_CTX_set_min_proto_version(ctx_, v);
      SSL_CTX_set_max_proto_version(ctx_, v);
    }
    SSL_CTX_set_default_verify_paths(ctx_);
    if (!ca_file.empty()) SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    if (!sni.empty() && !is_ip_literal(sni)) SSL_set_tlsext_host_name(ssl_, sni.c_str());
    buf_.clear();  // bytes sent before the handshake are never read as if they came through TLS
    if (SSL_connect(ssl_) != 1) {
      std::string e = openssl_error();
      SSL_free(ssl_);
      ssl_ = nullptr;
      return e;
    }
    return {};
  }

  void fill_tls(mailbox_tls_obs& t, const std::string& name) const {
    t.tls_ok = ssl_ != nullptr;
    if (!ssl_) return;
    t.version = SSL_get_version(ssl_);
    t.cipher = SSL_get_cipher_name(ssl_);
    long vr = SSL_get_verify_result(ssl_);
    t.verified = vr == X509_V_OK;
    if (!t.verified) t.verify_error = X509_verify_cert_error_string(vr);
    if (X509* cert = SSL_get1_peer_certificate(ssl_)) {
      t.name_matches = is_ip_literal(name) ? X509_check_ip_asc(cert, name.c_str(), 0) == 1
                                           : X509_check_host(cert, name.c_str(), name.size(), 0, nullptr) == 1;
      int days = 0, secs = 0;
      if (ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert))) t.days_left = days;
      X509_free(cert);
    }
  }

  void close() {
    if (ssl_) {
      SSL_free(ssl_);
      ssl_ = nullptr;
    }
    if (ctx_) {
      SSL_CTX_free(ctx_);
      ctx_ = nullptr;
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buf_;
};

// IMAP: lines until the tagged reply; returns it ("" when none came).
std::string imap_until_tag(line_conn& c, const std::string& tag, std::vector<std::string>* untagged = nullptr) {
  for (int i = 0; i < k_max_lines; ++i) {
    auto l = c.line();
    if (!l) return {};
    if (l->rfind(tag + " ", 0) == 0) return *l;
    if (untagged) untagged->push_back(*l);
  }
  return {};
}

void imap_caps(const std::vector<std::string>& lines, std::vector<std::string>& caps) {
  for (const auto& l : lines) {
    std::string u = upper(l);
    auto at = u.find("CAPABILITY ");
    if (u.rfind("* CAPABILITY ", 0) != 0 && u.find("[CAPABILITY ") == std::string::npos) continue;
    std::string rest = u.substr(at + 11);
    if (auto close = rest.find(']'); close != std::string::npos) rest = rest.substr(0, close);
    std::size_t p = 0;
    while (p < rest.size()) {
      auto sp = rest.find(' ', p);
      std::string atom = rest.substr(p, sp == std::string::npos ? std::string::npos : sp - p);
      if (!atom.empty() && std::find(caps.begin(), caps.end(), atom) == caps.end()) caps.push_back(atom);
      if (sp == std::string::npos) break;
      p = sp + 1;
    }
  }
}

std::string subject_of(const mailbox_observations& o, std::uint16_t port) {
  return (o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host) + ":" + std::to_string(port);
}

bool has_cap(const mailbox_observations& o, const std::string& cap) {
  for (const auto& c : o.caps_before_tls)
    if (c == cap || c.rfind(cap + " ", 0) == 0) return true;
  return false;
}

void probe_starttls_port(const mailbox_audit_options& opt, mailbox_observations& o, report& rep) {
  line_conn c(opt.timeout);
  o.connect_error = c.connect(opt.host, o.port, o.source);
  if (!o.connect_error.empty()) return;
  o.connected = true;
  const bool imap = o.protocol == "imap";
  auto greet = c.line();
  o.greeting = greet.value_or("");
  if (imap) {
    std::vector<std::string> lines{o.greeting};
    c.send("a1 CAPABILITY\r\n");
    imap_until_tag(c, "a1", &lines);
    imap_caps(lines, o.caps_before_tls);
    o.starttls_offered = has_cap(o, "STARTTLS");
    o.logindisabled = has_cap(o, "LOGINDISABLED");
    c.send("a2 LOGIN mailfort-audit-probe \"not-a-password\"\r\n");
    std::string r = imap_until_tag(c, "a2");
    o.plaintext_evidence = r;
    if (r.empty())
      o.plaintext_login = mailbox_observations::plaintext::not_tested;
    else if (contains(r, "AUTHENTICATIONFAILED") || upper(r).rfind("A2 OK", 0) == 0)
      o.plaintext_login = mailbox_observations::plaintext::checked;
    else
      o.plaintext_login = mailbox_observations::plaintext::refused;
  } else {
    c.send("CAPA\r\n");
    auto first = c.line();
    if (first && first->rfind("+OK", 0) == 0)
      for (int i = 0; i < k_max_lines; ++i) {
        auto l = c.line();
        if (!l || *l == ".") break;
        o.caps_before_tls.push_back(upper(*l));
      }
    o.starttls_offered = has_cap(o, "STLS");
    c.send("USER mailfort-audit-probe\r\n");
    auto u = c.line();
    std::string r = u.value_or("");
    if (r.rfind("+OK", 0) == 0) {
      c.send("PASS not-a-password\r\n");
      r = c.line().value_or("");
    }
    o.plaintext_evidence = r;
    if (r.empty())
      o.plaintext_login = mailbox_observations::plaintext::not_tested;
    else if (contains(r, "DISALLOWED") || contains(r, "PRIVACY") || contains(r, "STLS") || contains(r, "TLS"))
      o.plaintext_login = mailbox_observations::plaintext::refused;
    else
      o.plaintext_login = mailbox_observations::plaintext::checked;
  }
  rep.ran(o.protocol + ".plaintext_login", control_area::auth);
  if (!o.starttls_offered) return;
  o.starttls.tested = true;
  o.starttls.reachable = true;
  bool go = false;
  if (imap) {
    c.send("a3 STARTTLS\r\n");
    go = upper(imap_until_tag(c, "a3")).rfind("A3 OK", 0) == 0;
  } else {
    c.send("STLS\r\n");
    go = c.line().value_or("").rfind("+OK", 0) == 0;
  }
  if (!go) {
    o.starttls.error = "the server refused " + std::string(imap ? "STARTTLS" : "STLS");
    return;
  }
  const std::string name = opt.tls_name.empty() ? opt.host : opt.tls_name;
  o.starttls.error = c.handshake("", opt.ca_file, name);
  c.fill_tls(o.starttls, name);
  rep.ran(o.protocol + ".starttls", control_area::tls);
  c.send(imap ? "a4 LOGOUT\r\n" : "QUIT\r\n");
}

void probe_tls_port(const mailbox_audit_options& opt, mailbox_observations& o, report& rep) {
  auto& t = o.implicit_tls;
  t.tested = true;
  const std::string name = opt.tls_name.empty() ? opt.host : opt.tls_name;
  {
    line_conn c(opt.timeout);
    t.error = c.connect(opt.host, o.tls_port, o.source);
    if (!t.error.empty()) {
      rep.skipped(o.protocol + ".implicit_tls", control_area::tls,
                  "port " + std::to_string(o.tls_port) + ": " + t.error);
      return;
    }
    t.reachable = true;
    t.error = c.handshake("", opt.ca_file, name);
    c.fill_tls(t, name);
    if (t.tls_ok) c.line();  // the greeting, inside TLS
  }
  rep.ran(o.protocol + ".implicit_tls", control_area::tls);
  if (!opt.tls_versions) return;
  for (const char* v : {"1.0", "1.1", "1.2", "1.3"}) {
    line_conn c(opt.timeout);
    tls_version_probe p;
    p.version = v;
    if (std::string e = c.connect(opt.host, o.tls_port, o.source); !e.empty()) {
      p.detail = e;
    } else if (std::string h = c.handshake(v, opt.ca_file, name); !h.empty()) {
      p.res = tls_version_probe::result::refused;
      p.detail = h;
    } else {
      mailbox_tls_obs tmp;
      c.fill_tls(tmp, name);
      p.res = tls_version_probe::result::accepted;
      p.detail = tmp.cipher;
    }
    t.versions.push_back(p);
  }
  rep.ran(o.protocol + ".tls_versions", control_area::tls);
}

void judge_tls(const mailbox_observations& o, const mailbox_tls_obs& t, std::uint16_t port, bool implicit,
               std::vector<finding>& out) {
  const std::string subj = subject_of(o, port);
  const std::string what = implicit ? "implicit TLS" : (o.protocol == "imap" ? "STARTTLS" : "STLS");
  if (!t.tested || !t.reachable) return;
  if (!t.tls_ok) {
    out.push_back({o.protocol + ".tls.handshake_failed",
                   severity::high,
                   control_area::tls,
                   "The TLS handshake fails (" + what + ")",
                   subj,
                   t.error,
                   {"[tls] certificate/key; the Dovecot mailfort runs uses them", "", ""}});
    return;
  }
  const auto& c = t.cipher;
  if (c.find("RC4") != std::string::npos || c.find("DES") != std::string::npos || c.find("NULL") != std::string::npos ||
      c.find("EXP") != std::string::npos || c.find("MD5") != std::string::npos)
    out.push_back({"tls.cipher.weak",
                   severity::high,
                   control_area::tls,
                   "A weak cipher was negotiated with a modern client (" + what + ")",
                   subj,
                   t.version + " " + c,
                   {"mailfort's Dovecot offers AEAD suites only; Dovecot: ssl_cipher_list", "", ""}});
  if (!t.verified)
    out.push_back({"certificate.untrusted",
                   severity::medium,
                   control_area::certificate,
                   "The certificate does not verify against the trusted roots (" + what + ")",
                   subj,
                   t.verify_error,
                   {"[tls] certificate = a chain from a public CA (e.g. Let's Encrypt); Dovecot: ssl_cert", "", ""}});
  if (!t.name_matches)
    out.push_back({"certificate.name_mismatch",
                   severity::medium,
                   control_area::certificate,
                   "The certificate does not name the host (" + what + ")",
                   subj,
                   "expected " + o.host,
                   {"[tls] certificate for the name clients use", "", ""}});
  if (t.days_left < 0)
    out.push_back({"certificate.expired",
                   severity::high,
                   control_area::certificate,
                   "The certificate has expired (" + what + ")",
                   subj,
                   std::to_string(-t.days_left) + " days ago",
                   {"renew the certificate; mailfort and its Dovecot reload it on SIGHUP", "", ""}});
  for (const auto& v : t.versions) {
    if ((v.version == "1.0" || v.version == "1.1") && v.res == tls_version_probe::result::accepted)
      out.push_back(
          {v.version == "1.0" ? "tls.version.tls1_0" : "tls.version.tls1_1",
           severity::medium,
           control_area::tls,
           "TLS " + v.version + " is accepted (deprecated by RFC 8996)",
           subj,
           "handshake with only TLS " + v.version + " enabled succeeded: " + v.detail,
           {"[tls] min_version = \"1.2\" (the default; mailfort's Dovecot gets ssl_min_protocol = TLSv1.2)", "", ""}});
  }
  bool tested_modern = false, any_modern = false;
  for (const auto& v : t.versions)
    if (v.version == "1.2" || v.version == "1.3") {
      tested_modern |= v.res != tls_version_probe::result::error;
      any_modern |= v.res == tls_version_probe::result::accepted;
    }
  if (tested_modern && !any_modern)
    out.push_back({"tls.version.no_modern",
                   severity::high,
                   control_area::tls,
                   "Neither TLS 1.2 nor TLS 1.3 is accepted (" + what + ")",
                   subj,
                   "",
                   {"[tls] min_version = \"1.2\"", "", ""}});
}

}  // namespace

void judge_mailbox(const mailbox_observations& o, std::vector<finding>& out) {
  const bool imap = o.protocol == "imap";
  const std::string subj = subject_of(o, o.port);
  const std::string dovecot_fix =
      "mailfort's [imap] Dovecot refuses logins before TLS; Dovecot: disable_plaintext_auth = yes, ssl = required";
  if (o.connected) {
    if (o.plaintext_login == mailbox_observations::plaintext::checked)
      out.push_back({o.protocol + ".auth.plaintext_login",
                     severity::high,
                     control_area::auth,
                     "Passwords are accepted before TLS: a login on this port sends the password in clear text",
                     subj,
                     "a made-up " + std::string(imap ? "LOGIN" : "USER/PASS") +
                         " before STARTTLS was checked: " + o.plaintext_evidence,
                     {dovecot_fix, "", ""}});
    else if (imap && !o.logindisabled && o.starttls_offered)
      out.push_back({"imap.auth.logindisabled_missing",
                     severity::medium,
                     control_area::auth,
                     "LOGINDISABLED is not advertised before STARTTLS: clients may send the password before "
                     "the server refuses it",
                     subj,
                     "capabilities: " +
                         [&] {
                           std::string s;
                           for (const auto& c : o.caps_before_tls) s += (s.empty() ? "" : " ") + c;
                           return s;
                         }(),
                     {dovecot_fix, "", ""}});
    if (!imap && o.plaintext_login != mailbox_observations::plaintext::checked &&
        (has_cap(o, "USER") || has_cap(o, "SASL PLAIN")))
      out.push_back({"pop3.auth.plaintext_advertised",
                     severity::medium,
                     control_area::auth,
                     "USER or SASL PLAIN is advertised before STLS",
                     subj,
                     "CAPA before STLS",
                     {dovecot_fix, "", ""}});
    if (!o.starttls_offered)
      out.push_back({o.protocol + ".tls.starttls_missing",
                     severity::high,
                     control_area::tls,
                     std::string(imap ? "STARTTLS" : "STLS") +
                         " is not offered: mail clients can only talk in clear text "
                         "on this port",
                     subj,
                     "",
                     {"mailfort's [imap] Dovecot requires TLS; Dovecot: ssl = required", "", ""}});
  }
  judge_tls(o, o.starttls, o.port, false, out);
  judge_tls(o, o.implicit_tls, o.tls_port, true, out);
}

namespace {
// The loopback trap: Dovecot counts a client on the server's own address as secured.
std::string probe_source(const mailbox_audit_options& opt) {
  unsigned char a4[4];
  if (opt.source.empty() && inet_pton(AF_INET, opt.host.c_str(), a4) == 1 && a4[0] == 127)
    return opt.host == "127.0.0.2" ? "127.0.0.3" : "127.0.0.2";
  return opt.source;
}
}  // namespace

report run_mailbox_audit(const mailbox_audit_options& opt) {
  report rep;
  rep.kind = opt.protocol;
#ifdef MAILFORT_AUDIT_VERSION
  rep.version = MAILFORT_AUDIT_VERSION;
#endif
  const auto t0 = std::chrono::steady_clock::now();
  rep.started_at = static_cast<std::int64_t>(std::time(nullptr));
  mailbox_observations o;
  o.protocol = opt.protocol;
  o.host = opt.host;
  const bool imap = opt.protocol == "imap";
  o.port = opt.port ? opt.port : (imap ? 143 : 110);
  o.tls_port = opt.tls_port ? opt.tls_port : (imap ? 993 : 995);
  rep.target = subject_of(o, o.port);
  o.source = probe_source(opt);
  probe_starttls_port(opt, o, rep);
  if (opt.check_tls_port) probe_tls_port(opt, o, rep);
  if (!o.connected && !o.implicit_tls.reachable) {
    rep.could_not_run = true;
    rep.failure = "cannot connect to " + rep.target + ": " + o.connect_error;
  } else if (!o.connected) {
    rep.error(o.protocol + ".plaintext_login", control_area::auth, o.connect_error);
  }
  if (!o.source.empty() && opt.source.empty())
    rep.ran(o.protocol + ".source", control_area::auth,
            "probed from " + o.source + " (a client on the server's own address counts as secured)");
  judge_mailbox(o, rep.findings);
  rep.sort();
  rep.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

void add_mailbox_probes(report& rep, const std::string& host, const mailbox_ports& ports,
                        const mailbox_audit_options& base, const std::string& id_suffix) {
  for (const bool imap : {true, false}) {
    mailbox_audit_options opt = base;
    opt.protocol = imap ? "imap" : "pop3";
    opt.host = host;
    mailbox_observations o;
    o.protocol = opt.protocol;
    o.host = host;
    o.port = imap ? ports.imap : ports.pop3;
    o.tls_port = imap ? ports.imaps : ports.pop3s;
    if (!o.port && !o.tls_port) continue;
    o.source = probe_source(opt);
    report sub;
    if (o.port) probe_starttls_port(opt, o, sub);
    if (o.tls_port) probe_tls_port(opt, o, sub);
    std::string answered, silent;
    auto note = [&](std::string& into, std::uint16_t port, const char* what) {
      into += (into.empty() ? "" : ", ") + subject_of(o, port) + " (" + what + ")";
    };
    if (o.port) note(o.connected ? answered : silent, o.port, imap ? "STARTTLS" : "STLS");
    if (o.tls_port) note(o.implicit_tls.reachable ? answered : silent, o.tls_port, "implicit TLS");
    const std::string id = o.protocol + ".offered" + id_suffix;
    if (answered.empty()) {
      rep.skipped(id, control_area::auth, "not offered: nothing answers on " + silent);
      continue;
    }
    rep.ran(id, control_area::auth,
            "answers on " + answered + (silent.empty() ? "" : "; not offered on " + silent) +
                (o.source.empty() || !base.source.empty() ? "" : "; probed from " + o.source));
    for (auto& c : sub.checks) {
      // A port that does not answer is not offered, not an error.
      if (c.id == o.protocol + ".implicit_tls" && !o.implicit_tls.reachable) continue;
      c.id += id_suffix;
      rep.checks.push_back(std::move(c));
    }
    judge_mailbox(o, rep.findings);
  }
  rep.sort();
}

}  // namespace mailfort::audit
