// cli/status.cpp: `mailfort status [--format text|json]`: what the running server watches, on the terminal.
// SPDX-License-Identifier: MIT
// It asks the running server through the control channel (<data_dir>/control.sock; the reply adds pid and
// uptime_s), else the server's admin listener (listeners.admin, with monitor.token when set) for /api/status, so it
// shows exactly what /metrics and /api/alerts show: listeners, queue, bans, active alerts, certificate days
// left, blocklist state. Exit code 0 when the server answered and no alert is active, 1 when alerts are
// active, 2 when the server could not be reached.
#include "cli/cli.hpp"
#include "smtp/server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <iostream>

namespace mailfort::cli {
namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {
nlohmann::json fetch_status(const config::config& cfg) {
  asio::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(smtp::parse_endpoint(cfg.listeners.admin));
  http::request<http::empty_body> req{http::verb::get, "/api/status", 11};
  req.set(http::field::host, "localhost");
  if (!cfg.monitor.token.empty()) req.set(http::field::authorization, "Bearer " + cfg.monitor.token);
  http::write(stream, req);
  boost::beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(4 * 1024 * 1024);
  http::read(stream, buf, parser);
  auto& res = parser.get();
  if (res.result() != http::status::ok)
    throw std::runtime_error("admin listener answered HTTP " + std::to_string(res.result_int()));
  return nlohmann::json::parse(res.body());
}

void print_text(const nlohmann::json& st) {
  auto str = [](const nlohmann::json& j, const char* k) {
    return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
  };
  std::cout << "mailfort " << str(st, "version") << " on " << str(st, "hostname") << "\n";
  std::cout << "listeners:";
  const auto listeners = st.value("listeners", nlohmann::json::object());  // named: items() must not outlive it
  for (const auto& [k, v] : listeners.items())
    if (v.is_string() && !v.get<std::string>().empty()) std::cout << " " << k << "=" << v.get<std::string>();
  std::cout << "\nqueue:     " << st.value("queue", 0) << " message(s)\n";
  std::cout << "bans:      " << st.value("bans", 0) << " active\n";
  auto cert = st.value("certificate", nlohmann::json::object());
  std::cout << "certificate: " << str(cert, "path");
  if (cert.contains("days_to_expiry"))
    std::cout << " (" << cert["days_to_expiry"].get<long long>() << " days left)";
  else
    std::cout << " (" << str(cert, "error") << ")";
  std::cout << "\nblocklists:";
  auto bl = st.value("blocklists", nlohmann::json::object());
  if (bl.empty()) std::cout << " not checked" << (str(st, "public_ip").empty() ? " (no public address)" : "");
  for (const auto& [zone, v] : bl.items()) std::cout << " " << zone << "=" << v.get<std::string>();
  auto alerts = st.value("alerts", nlohmann::json::array());
  std::cout << "\nalerts:    " << alerts.size() << " active\n";
  for (const auto& a : alerts)
    std::cout << "  [" << str(a, "severity") << "] " << str(a, "name") << " " << str(a, "subject") << ": "
              << str(a, "message") << "\n";
}
}  // namespace

void register_status(CLI::App& app, common_options& opts, int& exit_code) {
  auto* cmd = app.add_subcommand("status",
                                 "what the running server watches: listeners, queue, bans, alerts, "
                                 "certificate, blocklists (asks listeners.admin)");
  static std::string format = "text";
  cmd->add_option("--format", format, "text or json")->check(CLI::IsMember({"text", "json"}));
  cmd->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    // The control channel first (no token, no admin listener needed); the admin listener when it is not there.
    int served_code = 0;
    nlohmann::json served;
    if (via_server(
            cfg, {{"verb", "status"}}, served_code, [&served](const nlohmann::json& r) { served = r; },
            "asking the admin listener instead")) {
      exit_code = served_code;
      if (served_code != 0) return;
      if (format == "json")
        std::cout << served.dump(2) << "\n";
      else
        print_text(served);
      exit_code = served.value("alerts", nlohmann::json::array()).empty() ? 0 : 1;
      return;
    }
    if (cfg.listeners.admin.empty()) {
      std::cerr << "mailfort status: listeners.admin is disabled in the config; nothing to ask\n";
      exit_code = 2;
      return;
    }
    nlohmann::json st;
    try {
      st = fetch_status(cfg);
    } catch (const boost::system::system_error& e) {
      std::cerr << "mailfort status: cannot reach the server's admin listener " << cfg.listeners.admin << ": "
                << e.code().message() << " (is `mailfort serve` running with this config?)\n";
      exit_code = 2;
      return;
    } catch (const std::exception& e) {
      std::cerr << "mailfort status: cannot reach the server's admin listener " << cfg.listeners.admin << ": "
                << e.what() << "\n";
      exit_code = 2;
      return;
    }
    if (format == "json")
      std::cout << st.dump(2) << "\n";
    else
      print_text(st);
    exit_code = st.value("alerts", nlohmann::json::array()).empty() ? 0 : 1;
  });
}

}  // namespace mailfort::cli
