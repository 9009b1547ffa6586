// cli/spf.cpp: `mailfort spf check --ip IP --sender ADDR --helo NAME [--format text|json]`: one SPF evaluation.
// SPDX-License-Identifier: MIT
// Exit codes: 0 for any SPF result (pass, fail, temperror... are answers, not failures of the tool), 2 when
// the check could not run (bad IP, bad format, resolver that cannot start). The MAIL FROM identity is
// checked (RFC 7208 2.4: the null sender "" or "<>" is checked as postmaster@HELO); --identity helo checks
// the HELO name instead (2.3).
#include "auth/spf.hpp"
#include "cli/cli.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <exception>
#include <iostream>
#include <optional>

namespace mailfort::cli {
namespace {

namespace spf = auth::spf;

struct spf_args {
  std::string ip, sender, helo, format = "text", identity = "mailfrom", receiver = "unknown";
};

// Runs the check on its own event loop: the CLI does one lookup chain and exits.
std::optional<spf::result> run_check(dns::source& dns, boost::asio::io_context& io, const spf::ip_address& ip,
                                     const spf_args& a) {
  std::optional<spf::result> out;
  std::exception_ptr err;
  auto done = [&](std::exception_ptr e, spf::result r) {
    if (e)
      err = e;
    else
      out = std::move(r);
  };
  if (a.identity == "helo")
    boost::asio::co_spawn(io, spf::check_helo(dns, ip, a.helo, a.receiver), done);
  else
    boost::asio::co_spawn(io, spf::check_mail_from(dns, ip, a.helo, a.sender, a.receiver), done);
  io.run();
  if (err) std::rethrow_exception(err);
  return out;
}

// Keeps terminal output to one line whatever the DNS data held.
std::string one_line(std::string_view s) {
  std::string o;
  for (char c : s) o += (c >= 0x20 && c < 0x7f) ? c : '?';
  return o;
}

}  // namespace

void register_spf(CLI::App& app, common_options& opts, int& exit_code) {
  auto* s = app.add_subcommand("spf", "SPF (RFC 7208) tools");
  s->require_subcommand(1);
  static spf_args a;
  auto* c = s->add_subcommand("check", "evaluate SPF for a client IP, MAIL FROM and HELO");
  c->add_option("--ip", a.ip, "client IP address")->required();
  c->add_option("--sender", a.sender, "MAIL FROM address (\"\" for the null sender)");
  c->add_option("--helo", a.helo, "HELO/EHLO name")->required();
  c->add_option("--format", a.format, "text or json (default text)");
  c->add_option("--identity", a.identity, "mailfrom (default) or helo");
  c->add_option("--receiver", a.receiver, "our host name, for %{r} in explanations");
  c->callback([&opts, &exit_code] {
    auto ip = spf::parse_ip(a.ip);
    if (!ip || (a.format != "text" && a.format != "json") || (a.identity != "mailfrom" && a.identity != "helo")) {
      std::cerr << "mailfort: "
                << (!ip                                                ? "'" + a.ip + "' is not an IP address"
                    : a.identity != "mailfrom" && a.identity != "helo" ? "--identity must be mailfrom or helo"
                                                                       : "--format must be text or json")
                << "\n";
      exit_code = 2;
      return;
    }
    auto cfg = load_config_or_exit(opts);
    std::optional<spf::result> r;
    try {
      boost::asio::io_context io;
      dns::resolver res(io.get_executor(), sender_auth_resolver_options(cfg, opts));
      r = run_check(res, io, *ip, a);
    } catch (const std::exception& e) {
      std::cerr << "mailfort: spf check could not run: " << e.what() << "\n";
      exit_code = 2;
      return;
    }
    if (!r) {
      std::cerr << "mailfort: spf check did not complete\n";
      exit_code = 2;
      return;
    }
    if (a.format == "json") {
      nlohmann::json j = {
          {"result", spf::to_string(r->code)},
          {"domain", r->domain},
          {"mechanism", r->mechanism},
          {"reason", r->reason},
          {"explanation", r->explanation},
          {"identity", r->identity},
          {"sender", r->sender},
          {"ip", spf::format_ip(*ip)},
          {"helo", a.helo},
          {"dns_lookups", r->dns_lookups},
          {"void_lookups", r->void_lookups},
          {"received_spf", spf::format_received_spf(*r, *ip, a.helo, a.receiver)},
      };
      // DNS text may hold any bytes: replace invalid UTF-8 instead of throwing.
      std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      std::cout << "spf=" << spf::to_string(r->code) << " domain=" << one_line(r->domain)
                << " mechanism=" << (r->mechanism.empty() ? "-" : one_line(r->mechanism))
                << " reason=" << one_line(r->reason);
      if (!r->explanation.empty()) std::cout << " explanation=" << one_line(r->explanation);
      std::cout << "\n";
    }
    exit_code = 0;
  });
}

}  // namespace mailfort::cli
