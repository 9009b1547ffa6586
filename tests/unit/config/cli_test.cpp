// tests/unit/config/cli_test.cpp: `mailfort config check|defaults` and `mailfort user ...` through CLI11 with a fake
// argv. SPDX-License-Identifier: MIT
#include "cli/cli.hpp"
#include "sasl/user_db.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

using namespace mailfort;

namespace {

struct result {
  int code = -1;
  std::string out, err;
};

// Builds the app the way cli.cpp does (shared --config/--data-dir, fallthrough) with only our verbs.
result run(std::vector<std::string> args, const std::string& stdin_text = "") {
  CLI::App app{"test", "mailfort"};
  app.require_subcommand(1);
  app.fallthrough();
  cli::common_options opts;
  int exit_code = 0;
  app.add_option("--config", opts.config_file);
  app.add_option("--data-dir", opts.data_dir);
  cli::register_user(app, opts, exit_code);
  cli::register_config(app, opts, exit_code);

  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  auto* old_in = std::cin.rdbuf(in.rdbuf());
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  std::vector<const char*> argv{"mailfort"};
  for (const auto& a : args) argv.push_back(a.c_str());
  result r;
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
    r.code = exit_code;
  } catch (const CLI::ParseError& e) {
    r.code = app.exit(e, out, err) == 0 ? 0 : 2;
  }
  std::cin.rdbuf(old_in);
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

struct temp_dir {
  std::filesystem::path p;
  temp_dir() {
    char tmpl[] = "/tmp/mailfort-cli-XXXXXX";
    p = mkdtemp(tmpl);
  }
  ~temp_dir() { std::filesystem::remove_all(p); }
  std::string write(const std::string& name, const std::string& text) const {
    auto f = p / name;
    std::ofstream(f) << text;
    return f.string();
  }
};

}  // namespace

TEST(cli_config, defaults_prints_annotated_text) {
  auto r = run({"config", "defaults"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, config::annotated_defaults());
}

TEST(cli_config, check_defaults_is_clean_but_notes_self_signed) {
  auto r = run({"config", "check"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("(defaults): finding[medium]: tls.certificate: self-signed certificate"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("0 error(s)"), std::string::npos);
}

TEST(cli_config, check_errors_exit_2_with_file_line) {
  temp_dir d;
  auto f = d.write("bad.toml", "hostname = \"mx.example.org\"\n[relay]\ntrusted_network = [\"10.0.0.0/8\"]\n");
  auto r = run({"config", "check", f});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find(f + ":3: error: relay.trusted_network: unknown key 'trusted_network'"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("1 error(s)"), std::string::npos) << r.out;
  // FILE falls back to --config.
  EXPECT_EQ(run({"--config", f, "config", "check"}).code, 2);
  EXPECT_EQ(run({"config", "check", (d.p / "missing.toml").string()}).code, 2);
}

TEST(cli_config, check_open_relay_exit_1_and_json) {
  temp_dir d;
  auto f = d.write("open.toml", "[relay]\ntrusted_networks = [\"0.0.0.0/0\"]\n");
  auto r = run({"config", "check", f});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find(f + ":2: finding[critical]: relay.trusted_networks: open relay"), std::string::npos) << r.out;
  auto j = run({"config", "check", "--format", "json", f});
  EXPECT_EQ(j.code, 1);
  auto arr = nlohmann::json::parse(j.out);
  ASSERT_TRUE(arr.is_array());
  bool critical = false;
  for (const auto& e : arr)
    critical |= e["severity"] == "critical" && e["line"] == 2 && e["key"] == "relay.trusted_networks" &&
                e["kind"] == "finding" && e["file"] == f;
  EXPECT_TRUE(critical) << j.out;
  EXPECT_EQ(run({"config", "check", "--format", "xml", f}).code, 2);
}

TEST(cli_config, load_config_or_exit_exits_2_on_errors) {
  temp_dir d;
  cli::common_options opts;
  opts.config_file = d.write("bad.toml", "[limits]\nrecipients = -1\n");
  EXPECT_EXIT(cli::load_config_or_exit(opts), testing::ExitedWithCode(2), "bad.toml:2: error: limits.recipients");
  opts.config_file = d.write("ok.toml", "data_dir = \"/srv/mail\"\n");
  EXPECT_EQ(cli::load_config_or_exit(opts).data_dir, "/srv/mail");
  opts.data_dir = "/elsewhere";
  EXPECT_EQ(cli::load_config_or_exit(opts).data_dir, "/elsewhere");
}

TEST(cli_user, lifecycle) {
  temp_dir d;
  auto data = (d.p / "data" / "sub").string();
  auto conf = d.write("m.toml", "domains = [\"localhost\", \"Example.org\"]\n");
  std::vector<std::string> common{"--config", conf, "--data-dir", data};
  auto with = [&](std::vector<std::string> a) {
    a.insert(a.end(), common.begin(), common.end());
    return a;
  };

  // Refusals that need no password hashing and must not create anything.
  auto no_stdin = run(with({"user", "add", "alice@localhost"}), "pw\n");
  EXPECT_EQ(no_stdin.code, 2);
  EXPECT_NE(no_stdin.err.find("--password-stdin"), std::string::npos) << no_stdin.err;
  EXPECT_FALSE(std::filesystem::exists(data));
  auto foreign = run(with({"user", "add", "bob@example.net", "--password-stdin"}), "pw\n");
  EXPECT_EQ(foreign.code, 2);
  EXPECT_NE(foreign.err.find("not in a local domain"), std::string::npos) << foreign.err;
  EXPECT_EQ(run(with({"user", "add", "../x@localhost", "--password-stdin"}), "pw\n").code, 2);
  auto empty = run(with({"user", "add", "alice@localhost", "--password-stdin"}), "\r\n");
  EXPECT_EQ(empty.code, 2);
  EXPECT_NE(empty.err.find("empty password"), std::string::npos);
  EXPECT_EQ(run(with({"user", "add", "alice@localhost", "--password-stdin"}), std::string(2000, 'x') + "\n").code, 2);
  EXPECT_EQ(run(with({"user", "add"})).code, 2);  // ADDRESS missing: usage error

  auto add = run(with({"user", "add", "Alice@LocalHost", "--password-stdin"}), "s3cret pass\r\n");
  ASSERT_EQ(add.code, 0) << add.err;
  struct stat st {};
  ASSERT_EQ(::stat(data.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((data + "/state.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);  // password hashes: owner only
  EXPECT_EQ(run(with({"user", "add", "alice@localhost", "--password-stdin"}), "other\n").code, 1);  // exists
  EXPECT_EQ(run(with({"user", "add", "carol@example.org", "--password-stdin"}), "pw3\n").code, 0);

  auto list = run(with({"user", "list"}));
  EXPECT_EQ(list.code, 0);
  EXPECT_EQ(list.out, "alice@localhost\ncarol@example.org\n");

  EXPECT_EQ(run(with({"user", "passwd", "alice@localhost", "--password-stdin"}), "new pass\n").code, 0);
  EXPECT_EQ(run(with({"user", "passwd", "nobody@localhost", "--password-stdin"}), "x\n").code, 1);
  {
    sasl::user_db db(data + "/state.db");
    EXPECT_TRUE(db.verify("alice@localhost", "new pass"));  // trailing CR/LF stripped, nothing else
    EXPECT_FALSE(db.verify("alice@localhost", "s3cret pass"));
  }

  EXPECT_EQ(run(with({"user", "del", "carol@example.org"})).code, 0);
  EXPECT_EQ(run(with({"user", "del", "carol@example.org"})).code, 1);
  EXPECT_EQ(run(with({"user", "list"})).out, "alice@localhost\n");
}
