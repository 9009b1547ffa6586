// outbound/setup.cpp: configuration -> outbound transport and runner settings (see setup.hpp).
// SPDX-License-Identifier: MIT
#include "outbound/setup.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mailfort::outbound {

engine_settings engine_settings_from(const config::config& cfg) {
  const auto& o = cfg.outbound;
  engine_settings s;
  s.helo = o.helo_name.empty() ? cfg.hostname : o.helo_name;
  auto addr = [](const std::string& text, bool v4) -> std::optional<boost::asio::ip::address> {
    if (text.empty()) return std::nullopt;
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(text, ec);
    if (ec || a.is_v4() != v4)
      throw std::runtime_error("outbound.source_" + std::string(v4 ? "ipv4" : "ipv6") + " '" + text +
                               "' is not an IPv" + (v4 ? "4" : "6") + " address");
    return a;
  };
  s.source_v4 = addr(o.source_ipv4, true);
  s.source_v6 = addr(o.source_ipv6, false);
  s.allow_private = o.allow_private;
  s.port = static_cast<std::uint16_t>(o.port);
  s.ca_file = o.ca_file;
  s.dane = o.dane;
  s.mta_sts = o.mta_sts;
  s.mta_sts_port = static_cast<std::uint16_t>(o.mta_sts_port);
  s.timeouts.connect = std::chrono::seconds(o.connect_timeout_s);
  s.timeouts.command = std::chrono::seconds(o.command_timeout_s);
  s.smarthost = cfg.relay.smarthost;
  if (!cfg.relay.smarthost_user.empty()) {
    if (cfg.relay.smarthost.empty())
      throw std::runtime_error("relay.smarthost_user is set but relay.smarthost is empty");
    std::ifstream in(cfg.relay.smarthost_password_file, std::ios::binary);
    if (cfg.relay.smarthost_password_file.empty() || !in)
      throw std::runtime_error("cannot read relay.smarthost_password_file '" + cfg.relay.smarthost_password_file + "'");
    std::string pw;
    std::getline(in, pw);
    if (!pw.empty() && pw.back() == '\r') pw.pop_back();
    if (pw.empty()) throw std::runtime_error("relay.smarthost_password_file is empty");
    s.smarthost_auth = credentials{cfg.relay.smarthost_user, pw};
  }
  return s;
}

queue::runner_settings runner_settings_from(const config::config& cfg) {
  queue::runner_settings r;
  r.retry.min_s = cfg.queue.retry_min_s;
  r.retry.max_s = cfg.queue.retry_max_s;
  r.retry.lifetime_s = cfg.queue.max_lifetime_s;
  r.retry.jitter = cfg.queue.retry_jitter;
  r.delay_warning_s = cfg.queue.delay_warning_s;
  r.max_connections = static_cast<std::size_t>(cfg.outbound.max_connections);
  r.max_connections_per_domain = static_cast<std::size_t>(cfg.outbound.max_connections_per_domain);
  r.hostname = cfg.hostname;
  r.per_domain_is_global = !cfg.relay.smarthost.empty();
  return r;
}

std::unique_ptr<transport> make_transport(const config::config& cfg, dns::resolver_options ropts,
                                          const std::function<void(engine_settings&)>& customize) {
  auto s = engine_settings_from(cfg);
  if (customize) customize(s);
  return std::make_unique<transport>(std::move(ropts), std::move(s));
}

}  // namespace mailfort::outbound
