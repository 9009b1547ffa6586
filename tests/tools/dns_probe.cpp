// tests/tools/dns_probe.cpp: dns_probe, a test tool driving dns::resolver against a real server.
// SPDX-License-Identifier: MIT
// Usage: dns_probe NAME TYPE [--server ADDR[:PORT]]... [--trust-anchor FILE] [--timeout-ms N]
//                  [--allow-zone ZONE]... [--sync] [--repeat N] [--validate]
// Prints one JSON object per lookup: {"status","dnssec","rcode","ttl","records":[text...],"raw":[hex...],
// "why_bogus","error","from_cache","elapsed_ms"}; with --validate first a line {"validates_dnssec":bool}.
// Used by tests/integration/test_dns.py (the mailfort binary has no DNS verb yet).
#include "dns/records.hpp"
#include "dns/resolver.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

namespace dns = mailfort::dns;

namespace {

std::string hex(std::string_view s) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0xf]);
  }
  return out;
}

nlohmann::json to_json(const dns::lookup_result& r, int type, std::chrono::steady_clock::duration took) {
  nlohmann::json j;
  j["status"] = dns::to_string(r.st);
  j["dnssec"] = dns::to_string(r.sec);
  j["rcode"] = r.rcode;
  j["ttl"] = r.ttl;
  j["why_bogus"] = r.why_bogus;
  j["error"] = r.error;
  j["from_cache"] = r.from_cache;
  j["elapsed_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  j["records"] = nlohmann::json::array();
  j["raw"] = nlohmann::json::array();
  for (const auto& rd : r.records) {
    auto t = dns::to_text(type, rd);
    j["records"].push_back(t ? *t : std::string("<malformed>"));
    j["raw"].push_back(hex(rd));
  }
  return j;
}

[[noreturn]] void usage() {
  std::cerr << "usage: dns_probe NAME TYPE [--server ADDR[:PORT]]... [--trust-anchor FILE] [--timeout-ms N]"
               " [--allow-zone ZONE] [--sync] [--repeat N] [--validate]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) usage();
  std::string name = argv[1];
  auto type = dns::rr_type_from_name(argv[2]);
  if (!type) {
    char* end = nullptr;
    long v = std::strtol(argv[2], &end, 10);
    if (*end != '\0' || v <= 0 || v > 65535) usage();
    type = static_cast<int>(v);
  }
  dns::resolver_options opts;
  bool sync = false, validate = false;
  int repeat = 1;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--server")
      opts.servers.push_back(next());
    else if (a == "--trust-anchor")
      opts.trust_anchor_file = next();
    else if (a == "--timeout-ms")
      opts.timeout = std::chrono::milliseconds(std::atoi(next().c_str()));
    else if (a == "--repeat")
      repeat = std::atoi(next().c_str());
    else if (a == "--allow-zone")
      opts.resolve_special_zones.push_back(next());
    else if (a == "--sync")
      sync = true;
    else if (a == "--validate")
      validate = true;
    else
      usage();
  }
  auto dump = [](const nlohmann::json& j) {
    // Replace invalid UTF-8 (TXT data is arbitrary bytes) instead of throwing.
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  };
  try {
    boost::asio::io_context io;
    dns::resolver res(io.get_executor(), opts);
    if (validate) dump({{"validates_dnssec", res.validates_dnssec()}});
    for (int n = 0; n < repeat; ++n) {
      auto start = std::chrono::steady_clock::now();
      if (sync) {
        auto r = res.lookup_sync(name, *type);
        dump(to_json(r, *type, std::chrono::steady_clock::now() - start));
        continue;
      }
      boost::asio::co_spawn(
          io,
          [&]() -> boost::asio::awaitable<void> {
            auto r = co_await res.lookup(name, *type);
            dump(to_json(r, *type, std::chrono::steady_clock::now() - start));
          },
          boost::asio::detached);
      io.restart();
      io.run();  // returns only when the lookup and the resolver's pump are both finished
    }
  } catch (const std::exception& e) {
    std::cerr << "dns_probe: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
