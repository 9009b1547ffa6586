// tests/unit/filter/services_test.cpp: the configurations mailfort generates for the filters it runs
// ([filter] rspamd / clamav): loopback addresses, no network modules, the signature directory, accounts.
// SPDX-License-Identifier: MIT
#include "filter/services.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

using namespace mailfort;

namespace {

config::config cfg_with_filters() {
  config::config c;
  c.data_dir = "/srv/mf";
  c.filter.rspamd = true;
  c.filter.clamav = true;
  c.filter.rspamd_address = "127.0.0.1:7001";
  c.filter.clamav_address = "127.0.0.1:7002";
  c.filter.clamd_address = "127.0.0.1:7003";
  c.filter.clamav_database = "/opt/sigs";
  c.limits.message_size = 10ull * 1024 * 1024 + 1;
  return c;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST(filter_services, paths_under_the_data_directory) {
  auto p = filter::service_paths_for(cfg_with_filters());
  EXPECT_EQ(p.rspamd_dir, "/srv/mf/rspamd");
  EXPECT_EQ(p.clamav_dir, "/srv/mf/clamav");
}

TEST(filter_services, rspamd_milter_on_loopback_offline) {
  auto c = cfg_with_filters();
  std::map<std::string, std::string> files;
  for (auto& [rel, text] : filter::render_rspamd_files(c, filter::service_paths_for(c))) files[rel] = text;
  const auto& proxy = files.at("local/override.d/worker-proxy.inc");
  EXPECT_TRUE(has(proxy, "bind_socket = \"127.0.0.1:7001\";"));
  EXPECT_TRUE(has(proxy, "milter = yes;"));
  EXPECT_TRUE(has(proxy, "self_scan = yes;"));
  EXPECT_EQ(files.at("local/override.d/worker-normal.inc"), "enabled = false;\n");
  EXPECT_EQ(files.at("local/override.d/worker-controller.inc"), "enabled = false;\n");
  for (const char* m : {"rbl", "surbl", "spf", "dkim", "dmarc", "fuzzy_check", "phishing", "hfilter", "neural"})
    EXPECT_EQ(files.at(std::string("local/local.d/") + m + ".conf"), "enabled = false;\n") << m;
  EXPECT_TRUE(has(files.at("local/local.d/options.inc"), "nameserver = [\"127.0.0.1:1\"]"));
  EXPECT_TRUE(has(files.at("local/local.d/options.inc"), "/srv/mf/rspamd/tld.dat"));
  EXPECT_TRUE(has(files.at("local/local.d/milter_headers.conf"), "skip_authenticated = false;"));
  EXPECT_TRUE(files.count("tld.dat"));
}

TEST(filter_services, clamd_and_clamav_milter) {
  auto c = cfg_with_filters();
  auto p = filter::service_paths_for(c);
  auto clamd = filter::render_clamd_conf(c, p, true);
  EXPECT_TRUE(has(clamd, "TCPSocket 7003\n"));
  EXPECT_TRUE(has(clamd, "TCPAddr 127.0.0.1\n"));
  EXPECT_TRUE(has(clamd, "DatabaseDirectory /opt/sigs\n"));
  EXPECT_TRUE(has(clamd, "StreamMaxLength 11M\n"));  // the message size limit, rounded up
  EXPECT_TRUE(has(clamd, "User clamav\n"));
  EXPECT_FALSE(has(filter::render_clamd_conf(c, p, false), "User "));
  auto milter = filter::render_clamav_milter_conf(c, p, true);
  EXPECT_TRUE(has(milter, "MilterSocket inet:7002@127.0.0.1\n"));
  EXPECT_TRUE(has(milter, "ClamdSocket tcp:127.0.0.1:7003\n"));
  EXPECT_TRUE(has(milter, "OnInfected Reject\n"));
  EXPECT_TRUE(has(milter, "OnFail Defer\n"));
  EXPECT_TRUE(has(milter, "AddHeader Replace\n"));
  EXPECT_TRUE(has(milter, "MaxFileSize 11M\n"));
  EXPECT_FALSE(has(filter::render_clamav_milter_conf(c, p, false), "User "));
}
