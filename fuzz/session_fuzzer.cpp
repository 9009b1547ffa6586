// fuzz/session_fuzzer.cpp: drives the whole pure receive path (line_reader -> session -> data_reader) with
// arbitrary client bytes, simulating the I/O layer's actions, on every listener kind.
// SPDX-License-Identifier: MIT
// Invariants: no crash, every reply is well formed (3 digits, CRLF-terminated, no bare CR/LF inside),
// and after action::close nothing more is processed.
#include "smtp/command_parser.hpp"
#include "smtp/data_reader.hpp"
#include "smtp/session.hpp"

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

using namespace mailfort::smtp;

namespace {
class fuzz_env final : public session_env {
 public:
  bool is_local_domain(std::string_view d) const override { return d == "localhost" || d == "LOCALHOST"; }
  bool local_user_exists(std::string_view a) const override { return a == "alice@localhost"; }
  bool may_send_as(std::string_view login, std::string_view sender) const override { return login == sender; }
};

void check_replies(const step& s) {
  for (const auto& r : s.replies) {
    std::string w = format(r);
    if (w.size() < 5 || w.substr(w.size() - 2) != "\r\n") std::abort();
    if (r.code < 200 || r.code > 599) std::abort();
    for (size_t i = 0; i + 1 < w.size(); ++i) {
      if (w[i] == '\r' && w[i + 1] != '\n') std::abort();
      if (w[i] == '\n' && (i == 0 || w[i - 1] != '\r')) std::abort();
    }
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  fuzz_env env;
  session_config cfg;
  cfg.kind = static_cast<listener_kind>(data[0] % 3);
  cfg.trusted_client = (data[0] & 0x80) != 0;
  cfg.limits.message_size = 4096;
  cfg.limits.recipients = 5;
  session sess(cfg, env, "127.0.0.1", 25);
  if (cfg.kind == listener_kind::submissions) sess.on_tls_established("TLSv1.3", "TLS_AES_128_GCM_SHA256");
  check_replies(sess.greeting());
  line_reader lines(session::max_reader_line, 8192);
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  bool closed = false;
  while (!in.empty() && !closed) {
    auto r = lines.feed(in);
    in.remove_prefix(r.consumed);
    if (r.status == line_status::need_more) break;
    step s = sess.on_line(r.status, lines.line());
    for (int guard = 0; guard < 4; ++guard) {
      check_replies(s);
      if (s.action == action::close) {
        closed = true;
        break;
      }
      if (s.action == action::start_tls) {
        sess.on_tls_established("TLSv1.3", "TLS_AES_128_GCM_SHA256");
        break;
      }
      if (s.action == action::verify_auth) {
        // A matched login records the account's canonical name, as user_db::authenticate returns it.
        s = sess.on_auth_result(sess.pending_auth().password == "pw" ? std::optional<std::string>("user@example.org")
                                                                     : std::nullopt);
        continue;
      }
      if (s.action == action::begin_data) {
        data_reader reader(sess.data_limits_for_message());
        std::string content;
        auto fr = reader.feed(in, content);
        in.remove_prefix(fr.consumed);
        if (content.size() > sess.data_limits_for_message().max_bytes) std::abort();
        if (fr.status != data_status::done) {
          closed = true;
          break;
        }
        s = sess.on_data_end(reader, content.size());
        if (s.action == action::spool) {
          (void)sess.received_header("00000000000000000000", 0);
          s = sess.on_spooled(0, "00000000000000000000");
        }
        continue;
      }
      break;
    }
  }
  return 0;
}
