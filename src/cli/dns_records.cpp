// cli/dns_records.cpp: `mailfort dns-records [DOMAIN] [--check] [--format zone|json]`: every DNS record to publish
// (publish/dns_records.hpp), and with --check what DNS returns for each through the validating resolver.
// SPDX-License-Identifier: MIT
// Exit codes: 0 printed (with --check: everything published), 1 with --check when a record is missing, stale or
// could not be looked up, 2 when the command could not run (bad domain, resolver that cannot start).
#include "auth/dkim_sign.hpp"
#include "cli/cli.hpp"
#include "common/host_port.hpp"
#include "outbound/dane.hpp"
#include "publish/dns_records.hpp"
#include "publish/sts_config.hpp"

#include <openssl/pem.h>

#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>

namespace mailfort::cli {
namespace {

struct dns_records_args {
  std::vector<std::string> domains;
  std::string format = "zone";
  std::string report_mailbox;
  std::vector<std::string> public_ips;
  bool check = false;
};

// "3 1 1 <hex>" of the certificate the server presents (tls.certificate or the generated self-signed one).
std::string current_tlsa(const config::config& cfg, std::string& note) {
  const std::string path = cfg.tls.certificate.empty()
                               ? (std::filesystem::path(cfg.data_dir) / "tls" / "cert.pem").string()
                               : cfg.tls.certificate;
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "r"), &std::fclose);
  if (!f) {
    note = "no certificate at " + path + " yet (the server makes one on first start): no TLSA record";
    return {};
  }
  outbound::x509_ptr cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    note = path + " holds no PEM certificate: no TLSA record";
    return {};
  }
  auto t = outbound::make_tlsa(cert.get());
  return t ? outbound::tlsa_to_text(*t) : std::string();
}

std::optional<int> port_of(const std::string& listener) {
  if (listener.empty()) return std::nullopt;
  auto hp = common::parse_host_port(listener);
  if (!hp || !hp->port) return std::nullopt;
  return *hp->port;
}

publish::inputs gather(const config::config& cfg, const dns_records_args& a, std::vector<std::string>& notes) {
  publish::inputs in;
  in.hostname = cfg.hostname;
  in.domains = a.domains.empty() ? cfg.domains : a.domains;
  for (const auto& k : cfg.dkim.keys) {
    auto loaded = dkim::load_signing_key(k.key);
    if (!loaded.key) {
      notes.push_back("DKIM key " + k.key + " (" + k.selector + "._domainkey." + k.domain +
                      ") cannot be read: " + loaded.error);
      continue;
    }
    in.dkim.push_back({k.domain, k.selector, dkim::dns_txt_record(*loaded.key)});
  }
  std::string note;
  in.tlsa = current_tlsa(cfg, note);
  if (!note.empty()) notes.push_back(note);
  if (!cfg.mta_sts.listen.empty())
    in.sts_id = publish::sts_policy_id(publish::sts_policy_body(publish::sts_input_of(cfg)));
  if (!cfg.relay.smarthost.empty())
    if (auto hp = common::parse_host_port(cfg.relay.smarthost)) in.smarthost = hp->host;
  in.report_mailbox = a.report_mailbox;
  std::vector<std::string> ips = a.public_ips;
  if (ips.empty() && !cfg.monitor.public_ip.empty()) ips.push_back(cfg.monitor.public_ip);
  for (const auto& ip : ips) (ip.find(':') != std::string::npos ? in.public_ipv6 : in.public_ipv4) = ip;
  if (ips.empty())
    notes.push_back("the public address is unknown (monitor.public_ip or --public-ip): no A/AAAA and no PTR record");
  const std::pair<const char*, const std::string*> smtp[] = {{"_submission._tcp", &cfg.listeners.submission},
                                                             {"_submissions._tcp", &cfg.listeners.submissions}};
  for (const auto& [svc, l] : smtp)
    if (auto p = port_of(*l)) in.services.push_back({svc, *p});
  const bool imap = cfg.imap.enabled == "true" ||
                    (cfg.imap.enabled == "auto" && std::filesystem::exists(std::filesystem::path(cfg.imap.dovecot)));
  if (imap) {
    const std::pair<const char*, const std::string*> box[] = {{"_imap._tcp", &cfg.imap.imap},
                                                              {"_imaps._tcp", &cfg.imap.imaps},
                                                              {"_pop3._tcp", &cfg.imap.pop3},
                                                              {"_pop3s._tcp", &cfg.imap.pop3s}};
    for (const auto& [svc, l] : box)
      if (auto p = port_of(*l)) in.services.push_back({svc, *p});
  }
  return in;
}

bool record_domain_ok(const std::string& d) {
  if (d.empty() || d.size() > 253) return false;
  for (char c : d)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) return false;
  return true;
}

// One line per record for the terminal; DNS text may hold any bytes, so only printable ASCII is shown.
std::string printable_text(std::string_view s) {
  std::string o;
  for (char c : s) o += (c >= 0x20 && c < 0x7f) ? c : '?';
  return o;
}

}  // namespace

void register_dns_records(CLI::App& app, common_options& opts, int& exit_code) {
  static dns_records_args a;
  auto* c = app.add_subcommand("dns-records",
                               "print every DNS record to publish (zone-file syntax or JSON); "
                               "--check compares each with what DNS returns");
  c->add_option("DOMAIN", a.domains, "local domain(s) (default: every configured domain)");
  c->add_option("--domain", a.domains, "local domain (repeatable)");
  c->add_option("--format", a.format, "zone (default) or json")->check(CLI::IsMember({"zone", "json"}));
  c->add_option("--report-mailbox", a.report_mailbox, "DMARC and TLS-RPT report address (default postmaster@<domain>)");
  c->add_option("--public-ip", a.public_ips, "the server's public address (default monitor.public_ip)");
  c->add_flag("--check", a.check, "look each record up (validating resolver) and report missing or stale ones");
  c->callback([&opts, &exit_code] {
    exit_code = 2;
    auto cfg = load_config_or_exit(opts);
    for (const auto& d : a.domains)
      if (!record_domain_ok(d)) {
        std::cerr << "mailfort: '" << printable_text(d) << "' is not a domain name\n";
        return;
      }
    std::vector<std::string> notes;
    const auto records = publish::build_records(gather(cfg, a, notes));
    for (const auto& n : notes) std::cerr << "mailfort: note: " << n << "\n";
    if (!a.check) {
      if (a.format == "json")
        std::cout << publish::to_json(records).dump(2) << "\n";
      else
        std::cout << publish::zone_text(records);
      exit_code = 0;
      return;
    }
    std::vector<publish::check_result> results;
    try {
      boost::asio::io_context io;
      dns::resolver res(io.get_executor(), resolver_options_for(cfg, opts));
      for (const auto& r : records) {
        auto cr = publish::compare(r, res.lookup_sync(r.name, publish::rrtype_of(r.type)));
        if (r.kind == "mta-sts-host" && cr.state == publish::check_state::missing) {
          // An address record instead of the CNAME serves as well.
          auto addr = res.lookup_sync(r.name, dns::rr_type::a);
          if (addr.st == dns::status::ok && !addr.records.empty()) {
            cr.state = publish::check_state::ok;
            cr.detail = "an A record instead of the CNAME";
          }
        }
        results.push_back(std::move(cr));
      }
    } catch (const std::exception& e) {
      std::cerr << "mailfort: dns-records --check could not run: " << e.what() << "\n";
      return;
    }
    std::size_t bad = 0;
    for (const auto& r : results) bad += r.state != publish::check_state::ok;
    if (a.format == "json") {
      auto j = publish::to_json(records, &results);
      j["problems"] = bad;
      std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      for (std::size_t i = 0; i < records.size(); ++i) {
        const auto& r = records[i];
        const auto& cr = results[i];
        std::cout << std::left << std::setw(8) << publish::to_string(cr.state) << " " << publish::zone_line(r) << "\n";
        if (cr.state != publish::check_state::ok || !cr.detail.empty()) {
          for (const auto& f : cr.found) std::cout << "         found: " << printable_text(f) << "\n";
          if (!cr.detail.empty()) std::cout << "         " << printable_text(cr.detail) << "\n";
        }
      }
      std::cout << bad << " problem(s): "
                << (bad ? "publish the records marked missing or stale" : "every record is published") << "\n";
    }
    exit_code = bad ? 1 : 0;
  });
}

}  // namespace mailfort::cli
