// filter/services.hpp: rspamd, clamd and clamav-milter run by `mailfort serve` ([filter] rspamd / clamav):
// configurations generated under data_dir, each child supervised (common::child_supervisor: restart with backoff,
// <name>_flapping alerts), listening on IPv4 loopback only.
// SPDX-License-Identifier: MIT
// rspamd: the stock rules (/etc/rspamd/rspamd.conf) with a local configuration directory that mailfort writes
// (data_dir/rspamd/local): a proxy worker in milter mode scanning in-process (self_scan), no normal or controller
// worker, the modules that need the network or Redis off (rbl, surbl, spf, dkim, dmarc, fuzzy_check, ...: mailfort
// does SPF/DKIM/DMARC itself), DNS pointed at a dead loopback resolver, a short public-suffix list: it starts
// without any network lookup. clamd: TCP on loopback, the signature directory filter.clamav_database (never
// updated by mailfort: run freshclam); clamav-milter: OnInfected Reject (550 5.7.1), OnFail Defer, headers
// X-Virus-Scanned / X-Virus-Status. While one is down its milter gets its default action (tempfail: 451 4.7.1).
// As root the filters run as Debian's _rspamd and clamav accounts, never as root.
#pragma once
#include "common/child_supervisor.hpp"
#include "config/config.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace mailfort::filter {

struct service_paths {
  std::filesystem::path rspamd_dir;  // data_dir/rspamd: local/, run/, log/, db/, tld.dat, rspamd.log
  std::filesystem::path clamav_dir;  // data_dir/clamav: clamd.conf, clamav-milter.conf, run/, *.log
};
service_paths service_paths_for(const config::config& cfg);

// [pure] The generated files: (path relative to rspamd_dir / clamav_dir, text).
std::vector<std::pair<std::string, std::string>> render_rspamd_files(const config::config& cfg, const service_paths& p);
std::string render_clamd_conf(const config::config& cfg, const service_paths& p, bool as_root);
std::string render_clamav_milter_conf(const config::config& cfg, const service_paths& p, bool as_root);

class filter_services {
 public:
  explicit filter_services(const config::config& cfg) : cfg_(cfg), paths_(service_paths_for(cfg)) {}
  ~filter_services() { stop(); }
  filter_services(const filter_services&) = delete;
  filter_services& operator=(const filter_services&) = delete;

  bool any() const { return cfg_.filter.rspamd || cfg_.filter.clamav; }
  // Writes the configurations and starts the supervisors (the children start at once, in the background).
  void start();
  void stop();  // clamav-milter, clamd, rspamd: SIGTERM and wait

 private:
  const config::config& cfg_;
  service_paths paths_;
  std::vector<std::unique_ptr<common::child_supervisor>> children_;  // started in this order, stopped in reverse
};

}  // namespace mailfort::filter
