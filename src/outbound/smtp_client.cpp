// outbound/smtp_client.cpp: one outbound SMTP transaction (see smtp_client.hpp).
// SPDX-License-Identifier: MIT
#include "outbound/smtp_client.hpp"

#include "outbound/dane.hpp"
#include "outbound/transfer.hpp"

#include <algorithm>

// GCC 12 reports -Wmismatched-new-delete on the coroutine frames below (GCC bug 109224: a false positive
// for a class-specific operator new/delete pair such as Asio's awaitable_frame_base, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace mailfort::outbound {

namespace asio = boost::asio;

const char* to_string(tls_requirement r) {
  switch (r) {
    case tls_requirement::opportunistic:
      return "opportunistic";
    case tls_requirement::encrypt:
      return "encrypt";
    case tls_requirement::verify:
      return "verify";
    case tls_requirement::dane:
      return "dane";
  }
  return "unknown";
}

const char* to_string(rcpt_status s) {
  switch (s) {
    case rcpt_status::delivered:
      return "delivered";
    case rcpt_status::temp:
      return "temp";
    case rcpt_status::perm:
      return "perm";
  }
  return "unknown";
}

std::string status_code_of(const server_reply& r) {
  if (r.enhanced) return to_string(*r.enhanced);
  return std::to_string(r.code / 100) + ".0.0";
}

std::string render_reply(const server_reply& r) {
  std::string text;
  for (std::size_t i = 0; i < r.lines.size() && i < 8; ++i) {
    if (i) text += " / ";
    text += r.lines[i];
  }
  return std::to_string(r.code) + (text.empty() ? "" : " " + printable(text, 600));
}

namespace {

rcpt_outcome from_reply(const server_reply& r) {
  rcpt_outcome o;
  o.status = r.positive() ? rcpt_status::delivered : r.transient() ? rcpt_status::temp : rcpt_status::perm;
  o.reply = render_reply(r);
  o.code = status_code_of(r);
  o.remote = true;
  return o;
}

rcpt_outcome ours(rcpt_status st, std::string code, std::string reason) {
  rcpt_outcome o;
  o.status = st;
  o.code = std::move(code);
  o.reply = std::move(reason);
  return o;
}

// What a connection failure means for the reason text.
std::string conn_reason(const client_connection& c, std::string_view stage) {
  return std::string(stage) + ": " + c.error_text();
}

}  // namespace

std::string tlsrpt_result_for_verify_error(std::string_view e) {
  if (e.find("hostname mismatch") != std::string_view::npos) return "certificate-host-mismatch";
  if (e.find("expired") != std::string_view::npos || e.find("not yet valid") != std::string_view::npos)
    return "certificate-expired";
  return "certificate-not-trusted";
}

asio::awaitable<transaction_result> run_transaction(client_connection& c, const transaction& t) {
  transaction_result res;
  const std::size_t n = t.recipients.size();
  auto host_fail = [&](std::string reason) {
    res.host_failed = true;
    res.reason = std::move(reason);
  };
  auto all = [&](const rcpt_outcome& o) { res.rcpts.assign(n, o); };

  // ---- greeting -------------------------------------------------------------------------------------
  auto g = co_await c.read_reply(c.timeouts().greeting);
  if (!g) {
    host_fail(conn_reason(c, "greeting"));
    c.close();
    co_return res;
  }
  if (g->code != 220) {
    host_fail("greeting: " + render_reply(*g));  // 554 banner: try the next host (Postfix smtp_skip_5xx_greeting)
    co_await c.quit();
    co_return res;
  }

  // ---- EHLO, STARTTLS -------------------------------------------------------------------------------
  // EHLO (the first, or again after STARTTLS): false when the host failed it, the connection then ended.
  auto ehlo_ok = [&](std::string_view stage) -> asio::awaitable<bool> {
    auto e = co_await c.ehlo(t.helo);
    if (!e) {
      host_fail(conn_reason(c, stage));
      c.close();
      co_return false;
    }
    if (!e->positive()) {
      host_fail(std::string(stage) + ": " + render_reply(*e));
      co_await c.quit();
      co_return false;
    }
    co_return true;
  };
  if (!co_await ehlo_ok("EHLO")) co_return res;
  const bool tls_required = t.tls != tls_requirement::opportunistic;
  if (c.capabilities().starttls) {
    auto st = co_await c.starttls(t.tlsp);
    if (!st.ok) {
      if (st.refused && !tls_required) {
        // Refused STARTTLS (e.g. 454): opportunistic TLS continues in plaintext on this connection.
      } else {
        host_fail(st.refused ? "STARTTLS refused: " + render_reply(*st.refused) : conn_reason(c, "STARTTLS"));
        res.tls_failure = st.refused ? "starttls-not-supported" : "validation-failure";
        if (st.refused)
          co_await c.quit();
        else
          c.close();
        co_return res;
      }
    }
  } else if (tls_required) {
    host_fail(std::string("STARTTLS not offered, but TLS is required (") + to_string(t.tls) + ")");
    res.tls_failure = "starttls-not-supported";
    co_await c.quit();
    co_return res;
  }
  if (c.tls_active()) {
    res.tls = true;
    res.tls_version = c.tls().version;
    res.tls_cipher = c.tls().cipher;
    res.tls_verified = c.tls().verified;
    if (!c.tls().verified) res.tls_note = "certificate not verified: " + c.tls().verify_error;
    if (t.tls == tls_requirement::verify && !c.tls().verified) {
      host_fail("TLS certificate verification failed: " + c.tls().verify_error);
      res.tls_failure = tlsrpt_result_for_verify_error(c.tls().verify_error);
      co_await c.quit();
      co_return res;
    }
    if (t.tls == tls_requirement::dane) {
      auto chain = c.peer_chain();
      auto d = dane_verify(t.tlsa, std::span<X509* const>(chain.data(), chain.size()), t.dane_names, t.now);
      if (d.status == dane_status::mismatch) {
        host_fail("DANE: no TLSA record matches the certificate" + (d.reason.empty() ? "" : " (" + d.reason + ")"));
        res.tls_failure = "tlsa-invalid";
        co_await c.quit();
        co_return res;
      }
      res.tls_note = d.status == dane_status::authenticated
                         ? "dane authenticated (" + tlsa_to_text(*d.matched).substr(0, 5) + ")"
                         : "dane: no usable TLSA record, encrypted only";
      if (d.status == dane_status::authenticated) res.tls_verified = true;
    }
    res.tls_phase_done = true;
    // RFC 3207 4.2: forget everything learnt before TLS and ask again.
    if (!co_await ehlo_ok("EHLO after STARTTLS")) co_return res;
  }
  res.tls_phase_done = true;
  const auto& caps = c.capabilities();

  // ---- AUTH -----------------------------------------------------------------------------------------
  if (t.auth) {
    if (!c.tls_active() || !res.tls_verified) {
      host_fail("AUTH refused: credentials are sent only inside TLS with a verified certificate" +
                (res.tls_note.empty() ? std::string() : " (" + res.tls_note + ")"));
      co_await c.quit();
      co_return res;
    }
    if (!caps.has_auth("PLAIN")) {
      host_fail("AUTH PLAIN not offered by the server");
      co_await c.quit();
      co_return res;
    }
    const std::string auth_line = auth_plain_command(t.auth->user, t.auth->password);  // never logged
    auto a = co_await c.command(auth_line);
    if (!a) {
      host_fail(conn_reason(c, "AUTH"));
      c.close();
      co_return res;
    }
    if (a->code != 235) {
      host_fail("AUTH failed: " + render_reply(*a));
      co_await c.quit();
      co_return res;
    }
  }

  // ---- checks the server's announcements decide -------------------------------------------------------
  if (t.smtputf8 && !caps.smtputf8) {
    all(ours(rcpt_status::perm, "5.6.7",
             "the message needs SMTPUTF8 (internationalised addresses or headers) and the server does not support it"));
    co_await c.quit();
    co_return res;
  }
  if (caps.size && caps.size_limit > 0 && t.message.size() > caps.size_limit) {
    all(ours(rcpt_status::perm, "5.3.4",
             "message size " + std::to_string(t.message.size()) + " exceeds the server's fixed limit " +
                 std::to_string(caps.size_limit)));
    co_await c.quit();
    co_return res;
  }

  // ---- MAIL -----------------------------------------------------------------------------------------
  auto mail_line = mail_command(t.sender, t.message.size(), t.eight_bit, t.smtputf8, caps);
  if (!mail_line) {
    all(ours(rcpt_status::perm, "5.1.7", "the sender address cannot be sent in a MAIL command"));
    co_await c.quit();
    co_return res;
  }
  res.rcpts.resize(n);
  std::vector<std::size_t> accepted;
  std::optional<server_reply> d;  // the reply to DATA (pipelined: read with the others)

  if (caps.pipelining) {
    // RFC 2920: MAIL, every RCPT and DATA in one write, then the replies in the same order (3.1: DATA is
    // the last command of the group). 503 replies to RCPT/DATA after a failed MAIL are simply read.
    std::vector<bool> sent(n, false);
    std::string batch = *mail_line + "\r\n";
    for (std::size_t i = 0; i < n; ++i) {
      auto line = rcpt_command(t.recipients[i]);
      if (!line) {
        res.rcpts[i] = ours(rcpt_status::perm, "5.1.3", "the recipient address cannot be sent in a RCPT command");
        continue;
      }
      batch += *line + "\r\n";
      sent[i] = true;
    }
    batch += "DATA\r\n";
    const auto cmd_timeout = c.timeouts().command;
    if (!co_await c.send(batch, cmd_timeout)) {
      host_fail(conn_reason(c, "MAIL"));
      res.rcpts.clear();
      c.close();
      co_return res;
    }
    auto m = co_await c.read_reply(cmd_timeout);
    if (!m) {
      host_fail(conn_reason(c, "MAIL"));
      res.rcpts.clear();
      c.close();
      co_return res;
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (!sent[i]) continue;
      auto r = co_await c.read_reply(cmd_timeout);
      if (!r) {
        if (!m->positive()) break;  // the outcome is MAIL's anyway
        for (std::size_t k = 0; k < n; ++k)
          if (sent[k]) res.rcpts[k] = ours(rcpt_status::temp, "4.4.2", conn_reason(c, "RCPT"));
        c.close();
        co_return res;
      }
      if (m->positive()) {
        res.rcpts[i] = from_reply(*r);
        if (r->positive()) accepted.push_back(i);
      }
    }
    const auto data_timeout = c.timeouts().data_init;
    if (c.error() == conn_error::none) d = co_await c.read_reply(data_timeout);
    if (!m->positive() || accepted.empty()) {
      if (!m->positive()) {
        if (m->transient()) {
          host_fail("MAIL: " + render_reply(*m));
          res.rcpts.clear();
        } else {
          all(from_reply(*m));
        }
      }
      if (d && d->code == 354) {
        // A server that says 354 although MAIL or every RCPT failed: end an empty message, never send this
        // one (RFC 2920 3.1).
        const std::string dot = ".\r\n";
        if (co_await c.send(dot, cmd_timeout)) co_await c.read_reply(c.timeouts().data_end);
      }
      co_await c.quit();
      co_return res;
    }
  } else {
    auto m = co_await c.command(*mail_line);
    if (!m) {
      host_fail(conn_reason(c, "MAIL"));
      res.rcpts.clear();
      c.close();
      co_return res;
    }
    if (!m->positive()) {
      if (m->transient()) {
        host_fail("MAIL: " + render_reply(*m));
        res.rcpts.clear();
      } else {
        all(from_reply(*m));
      }
      co_await c.quit();
      co_return res;
    }

    // ---- RCPT ---------------------------------------------------------------------------------------
    for (std::size_t i = 0; i < n; ++i) {
      auto line = rcpt_command(t.recipients[i]);
      if (!line) {
        res.rcpts[i] = ours(rcpt_status::perm, "5.1.3", "the recipient address cannot be sent in a RCPT command");
        continue;
      }
      auto r = co_await c.command(*line);
      if (!r) {
        // The connection broke: recipients not yet answered, and those accepted, are retried later.
        for (std::size_t k = 0; k < n; ++k)
          if (k >= i || std::find(accepted.begin(), accepted.end(), k) != accepted.end())
            res.rcpts[k] = ours(rcpt_status::temp, "4.4.2", conn_reason(c, "RCPT"));
        c.close();
        co_return res;
      }
      res.rcpts[i] = from_reply(*r);
      if (r->positive()) accepted.push_back(i);
    }
    if (accepted.empty()) {
      co_await c.quit();
      co_return res;
    }
    const auto data_timeout = c.timeouts().data_init;
    d = co_await c.command("DATA", data_timeout);
  }

  // ---- DATA -----------------------------------------------------------------------------------------
  auto set_accepted = [&](const rcpt_outcome& o) {
    for (auto i : accepted) res.rcpts[i] = o;
  };
  if (!d) {
    set_accepted(ours(rcpt_status::temp, "4.4.2", conn_reason(c, "DATA")));
    c.close();
    co_return res;
  }
  if (d->code != 354) {
    set_accepted(d->positive() ? ours(rcpt_status::temp, "4.5.0", "unexpected reply to DATA: " + render_reply(*d))
                               : from_reply(*d));
    co_await c.quit();
    co_return res;
  }
  std::string wire = dot_stuff(t.message);
  constexpr std::size_t k_block = 64 * 1024;
  for (std::size_t off = 0; off < wire.size(); off += k_block) {
    if (!co_await c.send(std::string_view(wire).substr(off, k_block), c.timeouts().data_block)) {
      set_accepted(ours(rcpt_status::temp, "4.4.2", conn_reason(c, "DATA transfer")));
      c.close();
      co_return res;
    }
  }
  res.data_sent = true;
  auto fin = co_await c.read_reply(c.timeouts().data_end);
  if (!fin) {
    // RFC 1047: the message may have been accepted; retrying may duplicate it (at least once, never lost).
    set_accepted(ours(rcpt_status::temp, "4.4.2", conn_reason(c, "end of DATA")));
    c.close();
    co_return res;
  }
  set_accepted(from_reply(*fin));
  co_await c.quit();
  co_return res;
}

}  // namespace mailfort::outbound
