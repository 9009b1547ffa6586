// tests/unit/mailbox/dovecot_config_test.cpp: dovecot.conf generation, the passwd-file, [imap] config keys.
// SPDX-License-Identifier: MIT
#include "config/config.hpp"
#include "mailbox/dovecot_config.hpp"
#include "mailbox/dovecot_service.hpp"

#include <gtest/gtest.h>

namespace mailfort::mailbox {
namespace {

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

dovecot_account acct() { return {"mf", "mfgroup", 1234, 2345}; }

TEST(dovecot_config, secure_defaults) {
  config::config cfg;
  cfg.data_dir = "/srv/mf";
  auto p = paths_for(cfg);
  auto t = render_dovecot_config(cfg, p, acct(), {});
  EXPECT_TRUE(has(t, "ssl = required\n"));
  EXPECT_TRUE(has(t, "disable_plaintext_auth = yes\n"));
  EXPECT_TRUE(has(t, "ssl_min_protocol = TLSv1.2\n"));
  EXPECT_TRUE(has(t, "ssl_cert = </srv/mf/tls/cert.pem\n"));
  EXPECT_TRUE(has(t, "ssl_key = </srv/mf/tls/key.pem\n"));
  EXPECT_TRUE(has(t, "default_login_user = mf\n"));
  EXPECT_TRUE(has(t, "default_internal_group = mfgroup\n"));
  EXPECT_TRUE(has(t, "args = scheme=ARGON2ID username_format=%Lu /srv/mf/dovecot/users\n"));
  EXPECT_TRUE(has(t, "args = uid=1234 gid=2345 home=/srv/mf/mail/%Ld/%Ln\n"));
  EXPECT_TRUE(has(t, "special_use = \\Junk\n"));
  EXPECT_TRUE(has(t, "    address = 127.0.0.1\n    port = 2143\n"));
  EXPECT_TRUE(has(t, "    port = 2993\n    ssl = yes\n"));
  EXPECT_TRUE(has(t, "    port = 2110\n"));
  EXPECT_TRUE(has(t, "    port = 2995\n    ssl = yes\n"));
  EXPECT_FALSE(has(t, "auth_policy_server_url"));
  EXPECT_FALSE(has(t, "CBC"));
  EXPECT_FALSE(has(t, "TLSv1.1"));
}

TEST(dovecot_config, disabled_listener_is_port_zero_and_tls13_follows_config) {
  config::config cfg;
  cfg.data_dir = "/srv/mf";
  cfg.imap.pop3 = "";
  cfg.tls.min_version = "1.3";
  cfg.tls.certificate = "/etc/ssl/c.pem";
  cfg.tls.key = "/etc/ssl/k.pem";
  auto t = render_dovecot_config(cfg, paths_for(cfg), acct(), {});
  EXPECT_TRUE(has(t, "inet_listener pop3 {\n    port = 0\n"));
  EXPECT_TRUE(has(t, "ssl_min_protocol = TLSv1.3\n"));
  EXPECT_TRUE(has(t, "ssl_cert = </etc/ssl/c.pem\n"));
}

TEST(dovecot_config, hooks_add_policy_and_access_socket) {
  config::config cfg;
  cfg.data_dir = "/srv/mf";
  dovecot_hooks h{"http://127.0.0.1:5000/policy", "n0nce", "", "/srv/mf/dovecot/access"};
  auto t = render_dovecot_config(cfg, paths_for(cfg), acct(), h);
  EXPECT_TRUE(has(t, "auth_policy_server_url = http://127.0.0.1:5000/policy\n"));
  EXPECT_TRUE(has(t, "auth_policy_hash_nonce = n0nce\n"));
  EXPECT_TRUE(has(t, " pwspray=%16{sha256:password} "));
  EXPECT_TRUE(has(t, "login_access_sockets = /srv/mf/dovecot/access\n"));
}

TEST(dovecot_config, long_data_dir_moves_base_dir_to_a_short_path) {
  config::config cfg;
  cfg.data_dir = "/" + std::string(100, 'a');
  auto p = paths_for(cfg);
  EXPECT_LT(p.base_dir.string().size(), 70u);
  EXPECT_EQ(p.base_dir.string().rfind("/tmp/mailfort-dovecot-", 0), 0u);
  cfg.data_dir = "/srv/mf";
  EXPECT_EQ(paths_for(cfg).base_dir.string(), "/srv/mf/dovecot/run");
}

TEST(passwd_file, lines_and_refused_rows) {
  std::vector<std::pair<std::string, std::string>> rows = {
      {"alice@localhost", "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA"},
      {"bad:name@localhost", "$argon2id$v=19$x"},
      {"bob@localhost", "plaintext"},
      {"eve@localhost", "$argon2id$v=19$\nroot:x"},
  };
  EXPECT_EQ(render_passwd_file(rows), "alice@localhost:{ARGON2ID}$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA\n");
}

TEST(imap_config, keys_load_and_are_checked) {
  auto r = config::load_string("[imap]\nenabled = false\nimap = \"\"\nimaps = \"127.0.0.1:993\"\n", "t.toml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.cfg.imap.enabled, "false");
  EXPECT_EQ(r.cfg.imap.imap, "");
  EXPECT_EQ(r.cfg.imap.imaps, "127.0.0.1:993");
  r = config::load_string("[imap]\nenabled = true\n", "t.toml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.cfg.imap.enabled, "true");
  EXPECT_FALSE(config::load_string("[imap]\nenabled = \"yes\"\n", "t.toml").ok());
  EXPECT_FALSE(config::load_string("[imap]\nimap = \"localhost:143\"\n", "t.toml").ok());
  EXPECT_FALSE(config::load_string("[imap]\ndovecot = \"dovecot\"\n", "t.toml").ok());
  EXPECT_FALSE(config::load_string("[imap]\ndisable_plaintext_auth = false\n", "t.toml").ok());
  EXPECT_EQ(config::load_string("", "t.toml").cfg.imap.enabled, "auto");
}

}  // namespace
}  // namespace mailfort::mailbox

// ---- login_guard: the auth policy requests and the scoring ----------------------------------------------------
#include "common/clock.hpp"
#include "mailbox/login_guard.hpp"
#include "sasl/app_passwords.hpp"

#include <cstdlib>
#include <filesystem>

namespace mailfort::mailbox {
namespace {

TEST(policy_request, parses_dovecot_bodies) {
  policy_request r;
  ASSERT_TRUE(
      parse_policy_request("/dovecot/policy?command=report",
                           R"({"login":"bob@example.test","protocol":"imap","pwhash":"079a","remote":"127.0.0.1",)"
                           R"("session_id":"seJmE95gUKJ/AAAB","success":false,"policy_reject":false,"tls":true})",
                           r));
  EXPECT_EQ(r.command, "report");
  EXPECT_EQ(r.login, "bob@example.test");
  EXPECT_EQ(r.remote, "127.0.0.1");
  EXPECT_EQ(r.protocol, "imap");
  EXPECT_EQ(r.pwhash, "079a");
  EXPECT_TRUE(r.tls);
  EXPECT_FALSE(r.success);
  policy_request a;
  EXPECT_TRUE(parse_policy_request("/p?command=allow", R"({"login":"x","remote":"::1"})", a));
  EXPECT_EQ(a.command, "allow");
  policy_request bad;
  EXPECT_FALSE(parse_policy_request("/p?command=drop", "{}", bad));
  EXPECT_FALSE(parse_policy_request("/p", "{}", bad));
  EXPECT_FALSE(parse_policy_request("/p?command=allow", "{not json", bad));
  EXPECT_FALSE(parse_policy_request("/p?command=allow", "[1]", bad));
  policy_request big;
  EXPECT_TRUE(parse_policy_request("/p?command=allow", R"({"login":")" + std::string(5000, 'a') + R"("})", big));
  EXPECT_EQ(big.login.size(), 256u);
}

TEST(distinct_counter, counts_accounts_per_key_within_window) {
  distinct_counter c(std::chrono::seconds(10), 2);
  auto t = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  EXPECT_EQ(c.add("1.2.3.4", "a", t), 1u);
  EXPECT_EQ(c.add("1.2.3.4", "a", t), 1u);
  EXPECT_EQ(c.add("1.2.3.4", "b", t), 2u);
  EXPECT_EQ(c.add("1.2.3.4", "c", t + std::chrono::seconds(11)), 1u);  // a and b expired
  EXPECT_EQ(c.add("k2", "a", t), 1u);
  EXPECT_EQ(c.add("k3", "a", t), 1u);  // bounded: an old key is dropped
  EXPECT_EQ(c.add("", "a", t), 0u);
}

struct temp_db {
  std::filesystem::path dir;
  temp_db() {
    char tmpl[] = "/tmp/mailfort-mbx-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~temp_db() { std::filesystem::remove_all(dir); }
};

TEST(login_guard, failed_logins_ban_the_source_at_the_threshold) {
  temp_db d;
  common::system_clock clk;
  policy::ban_settings b;  // threshold 5 in 10 minutes
  policy::guard g((d.dir / "state.db").string(), b, {}, {}, clk);
  login_guard lg(g, d.dir / "access", std::chrono::seconds(600));
  policy_request allow{"allow", "alice@localhost", "192.0.2.7", "imap", "s1", "", "", true, false, false};
  EXPECT_EQ(lg.handle(allow), R"({"status":0,"msg":""})");
  policy_request fail = allow;
  fail.command = "report";
  for (int i = 0; i < 4; ++i) {
    fail.pwhash = std::to_string(i);
    lg.handle(fail);
  }
  EXPECT_TRUE(lg.allowed("192.0.2.7"));
  lg.handle(fail);
  EXPECT_FALSE(lg.allowed("192.0.2.7"));
  EXPECT_EQ(lg.handle(allow), R"({"status":-1,"msg":"Login refused."})");
  EXPECT_TRUE(lg.allowed("192.0.2.8"));
  // A success never clears a ban.
  policy_request ok = fail;
  ok.success = true;
  lg.handle(ok);
  EXPECT_FALSE(lg.allowed("192.0.2.7"));
}

TEST(login_guard, credential_stuffing_scores_faster) {
  temp_db d;
  common::system_clock clk;
  policy::ban_settings b;
  policy::guard g((d.dir / "state.db").string(), b, {}, {}, clk);
  login_guard lg(g, d.dir / "access", std::chrono::seconds(600));
  policy_request fail{"report", "", "192.0.2.9", "pop3", "s", "", "", true, false, false};
  // Three accounts: 1 + 1 + 2 points; the fourth (2 more) reaches 6 >= 5.
  for (const char* user : {"a@x", "b@x", "c@x"}) {
    fail.login = user;
    lg.handle(fail);
  }
  EXPECT_TRUE(lg.allowed("192.0.2.9"));
  fail.login = "d@x";
  lg.handle(fail);
  EXPECT_FALSE(lg.allowed("192.0.2.9"));
}

TEST(spray_tracker, flags_a_password_failing_on_many_accounts_and_hands_out_earlier_sources_once) {
  spray_tracker t(std::chrono::seconds(60), 5, 100);
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  // Three sources, two accounts each, the same password.
  EXPECT_FALSE(t.add("h", "a", "s1", "192.0.2.1", now).sprayed);
  EXPECT_FALSE(t.add("h", "b", "s1", "192.0.2.1", now).sprayed);
  EXPECT_FALSE(t.add("h", "c", "s2", "192.0.2.2", now).sprayed);
  auto v = t.add("h", "d", "s2", "192.0.2.2", now);
  EXPECT_EQ(v.accounts, 4u);
  EXPECT_FALSE(v.sprayed);
  EXPECT_FALSE(t.add("other", "e", "s3", "192.0.2.3", now).sprayed);  // another password: its own count
  v = t.add("h", "e", "s3", "192.0.2.3", now);
  EXPECT_TRUE(v.sprayed);
  EXPECT_EQ(v.accounts, 5u);
  ASSERT_EQ(v.earlier.size(), 2u);
  EXPECT_EQ(v.earlier[0].source, "s1");
  EXPECT_EQ(v.earlier[0].address, "192.0.2.1");
  EXPECT_EQ(v.earlier[0].failures, 2u);
  EXPECT_EQ(v.earlier[1].source, "s2");
  EXPECT_EQ(v.own_earlier, 0u);
  v = t.add("h", "f", "s3", "192.0.2.3", now);
  EXPECT_TRUE(v.sprayed);
  EXPECT_TRUE(v.earlier.empty());  // already handed out
  // The source whose failure crosses the threshold gets its own earlier failures counted too.
  spray_tracker t2(std::chrono::seconds(60), 3, 100);
  EXPECT_FALSE(t2.add("h", "a", "s1", "192.0.2.1", now).sprayed);
  EXPECT_FALSE(t2.add("h", "b", "s2", "192.0.2.2", now).sprayed);
  v = t2.add("h", "c", "s1", "192.0.2.1", now);
  EXPECT_TRUE(v.sprayed);
  EXPECT_EQ(v.own_earlier, 1u);
  ASSERT_EQ(v.earlier.size(), 1u);
  EXPECT_EQ(v.earlier[0].source, "s2");
  // The same account again and again is not spraying.
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(t.add("one", "a", "s4", "192.0.2.4", now).sprayed);
  // Past the window the accounts expire.
  EXPECT_FALSE(t.add("h", "g", "s5", "192.0.2.5", now + std::chrono::seconds(61)).sprayed);
  EXPECT_FALSE(t.add("", "a", "s1", "192.0.2.1", now).sprayed);
}

TEST(login_guard, password_sprayed_from_three_sources_bans_them_all) {
  temp_db d;
  common::system_clock clk;
  policy::ban_settings b;  // threshold 5
  policy::guard g((d.dir / "state.db").string(), b, {}, {}, clk);
  login_guard lg(g, d.dir / "access", std::chrono::seconds(600));
  const auto hash = login_guard::spray_hash("Summer2026!");
  policy_request fail{"report", "", "", "imap", "s", "", hash, true, false, false};
  const char* users[] = {"a@x", "b@x", "c@x", "d@x", "e@x", "f@x"};
  const char* ips[] = {"192.0.2.21", "192.0.2.21", "192.0.2.22", "192.0.2.22", "192.0.2.23", "192.0.2.23"};
  for (int i = 0; i < 4; ++i) {
    fail.login = users[i];
    fail.remote = ips[i];
    lg.handle(fail);
  }
  // Two failures each, two accounts each: neither brute force nor credential stuffing.
  EXPECT_TRUE(lg.allowed("192.0.2.21"));
  EXPECT_TRUE(lg.allowed("192.0.2.22"));
  fail.login = users[4];
  fail.remote = ips[4];
  lg.handle(fail);  // the fifth account: the password is being sprayed; the earlier sources are banned
  EXPECT_FALSE(lg.allowed("192.0.2.21"));
  EXPECT_FALSE(lg.allowed("192.0.2.22"));
  EXPECT_TRUE(lg.allowed("192.0.2.23"));  // one failure with it: 3.5 points
  fail.login = users[5];
  lg.handle(fail);
  EXPECT_FALSE(lg.allowed("192.0.2.23"));
}

TEST(login_guard, different_passwords_on_many_accounts_from_many_sources_are_not_spraying) {
  temp_db d;
  common::system_clock clk;
  policy::ban_settings b;
  policy::guard g((d.dir / "state.db").string(), b, {}, {}, clk);
  login_guard lg(g, d.dir / "access", std::chrono::seconds(600));
  policy_request fail{"report", "", "", "imap", "s", "", "", true, false, false};
  for (int i = 0; i < 12; ++i) {
    fail.login = "u" + std::to_string(i) + "@x";
    fail.remote = "192.0.2." + std::to_string(40 + i / 2);
    fail.pwspray = login_guard::spray_hash("typo-" + std::to_string(i));
    lg.handle(fail);
  }
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(lg.allowed("192.0.2." + std::to_string(40 + i)));
  // A request without a password (Dovecot sends the hash of an empty one) is never counted.
  fail.pwspray = login_guard::spray_hash("");
  for (int i = 0; i < 6; ++i) {
    fail.login = "v" + std::to_string(i) + "@x";
    fail.remote = "192.0.2." + std::to_string(60 + i);
    lg.handle(fail);
  }
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(lg.allowed("192.0.2." + std::to_string(60 + i)));
}

TEST(login_guard, spray_hash_is_what_dovecot_computes) {
  // Dovecot's %16{sha256:password}: the first 16 hex digits of SHA-256 of the password. Captured from Dovecot
  // 2.3.19 for "Winter2026!" (the same for alice@ and bob@), and the FIPS 180-2 vector "abc".
  EXPECT_EQ(login_guard::spray_hash("Winter2026!"), "204294a2a33e5c0c");
  EXPECT_EQ(login_guard::spray_hash("abc"), "ba7816bf8f01cfea");
}

}  // namespace
}  // namespace mailfort::mailbox

namespace mailfort::mailbox {
namespace {

TEST(dovecot_config, app_password_passdbs_and_require_app_passwords) {
  config::config cfg;
  cfg.data_dir = "/srv/mf";
  auto t = render_dovecot_config(cfg, paths_for(cfg), acct(), {});
  EXPECT_TRUE(has(t, "username_format=%Lu /srv/mf/dovecot/users\n"));
  EXPECT_TRUE(has(t, "username_format=%Lu /srv/mf/dovecot/app-1\n"));
  EXPECT_TRUE(has(t, "username_format=%Lu /srv/mf/dovecot/app-8\n"));
  cfg.user.require_app_passwords = true;
  t = render_dovecot_config(cfg, paths_for(cfg), acct(), {});
  EXPECT_FALSE(has(t, "/srv/mf/dovecot/users\n"));
  EXPECT_TRUE(has(t, "username_format=%Lu /srv/mf/dovecot/app-1\n"));
}

TEST(app_password, format_and_alphabet) {
  auto pw = sasl::make_app_password([](unsigned char* b, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>(i * 37 + 11);
  });
  ASSERT_EQ(pw.size(), 24u);
  for (std::size_t i = 0; i < pw.size(); ++i) {
    if (i % 5 == 4)
      EXPECT_EQ(pw[i], '-');
    else
      EXPECT_EQ(std::string("abcdefghjkmnpqrstuvwxyz23456789").find(pw[i]) != std::string::npos, true) << pw;
  }
}

}  // namespace
}  // namespace mailfort::mailbox
