// cli/address.cpp: `mailfort domain add|list|del|catch-all` and `mailfort alias add|list|del` (issue 20), and
// the address findings of `mailfort config check` (postmaster@/abuse@ that go nowhere, catch-alls).
// SPDX-License-Identifier: MIT
// The tables live in state.db (address/address_db.hpp); a running server sees a change at its next RCPT
// (it rereads them when state.db changed), so no signal or control request is needed.
#include "address/address_db.hpp"
#include "address/resolve.hpp"
#include "address/settings.hpp"
#include "cli/cli.hpp"
#include "common/ascii.hpp"
#include "common/state_db.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>

namespace mailfort::cli {

namespace {

namespace fs = std::filesystem;

std::unique_ptr<address::address_db> open_address_tables(const config::config& cfg) {
  std::error_code ec;
  if (!fs::exists(cfg.data_dir, ec) && ::mkdir(cfg.data_dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error("cannot create data directory " + cfg.data_dir + ": " + std::strerror(errno));
  return std::make_unique<address::address_db>(common::state_db_path(cfg.data_dir));
}

std::set<std::string> hosted_domain_set(const config::config& cfg, const address::book& b) {
  std::set<std::string> out(b.domains.begin(), b.domains.end());
  for (const auto& d : cfg.domains) out.insert(common::to_lower(d));
  return out;
}

struct address_domain_args {
  std::string name;
  std::string catch_all;
  std::string format = "text";
};

struct address_alias_args {
  std::string address;
  std::vector<std::string> targets;
  std::vector<std::string> send_as;
  std::string format = "text";
};

// Runs `f` and turns the address tables' exceptions into a message and exit code 2 (bad input) or 1.
template <class F>
void address_guarded(int& exit_code, F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    std::cerr << "mailfort: " << e.what() << "\n";
    exit_code = 2;
  } catch (const std::exception& e) {
    std::cerr << "mailfort: " << e.what() << "\n";
    exit_code = 1;
  }
}

void add_domain_verbs(CLI::App& app, common_options& opts, int& exit_code) {
  auto* d = app.add_subcommand("domain", "hosted domains kept in state.db (beside the config's `domains`)");
  d->require_subcommand(1);
  auto a = std::make_shared<address_domain_args>();

  auto* add = d->add_subcommand("add", "host a domain: its users, aliases, postmaster@ and abuse@ get mail");
  add->add_option("DOMAIN", a->name, "domain name")->required();
  add->add_option("--catch-all", a->catch_all, "deliver mail for unknown addresses of the domain here (off)");
  add->callback([&opts, &exit_code, a] {
    auto cfg = load_config_or_exit(opts);
    address_guarded(exit_code, [&] {
      auto db = open_address_tables(cfg);
      const bool added = db->add_domain(a->name);
      if (!a->catch_all.empty()) db->set_catch_all(a->name, a->catch_all);
      const std::string n = common::to_lower(a->name);
      std::cout << (added ? "added domain " : "domain already hosted: ") << n << "\n"
                << "publish in DNS: " << n << ". IN MX 10 " << cfg.hostname << ".\n";
      if (!a->catch_all.empty())
        std::cerr << "mailfort: note: a catch-all accepts every address of " << n
                  << ", so dictionary spam reaches it; `config check` reports it\n";
      exit_code = 0;
    });
  });

  auto* del = d->add_subcommand("del", "stop hosting a domain added with `domain add`");
  del->add_option("DOMAIN", a->name, "domain name")->required();
  del->callback([&opts, &exit_code, a] {
    auto cfg = load_config_or_exit(opts);
    address_guarded(exit_code, [&] {
      if (!open_address_tables(cfg)->remove_domain(a->name)) {
        std::cerr << "mailfort: no domain " << common::to_lower(a->name) << " in the state database"
                  << " (domains of the config file are removed there)\n";
        exit_code = 1;
        return;
      }
      std::cout << "deleted domain " << common::to_lower(a->name) << "\n";
      exit_code = 0;
    });
  });

  auto* list = d->add_subcommand("list", "the hosted domains: the config's and state.db's");
  list->add_option("--format", a->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  list->callback([&opts, &exit_code, a] {
    auto cfg = load_config_or_exit(opts);
    address_guarded(exit_code, [&] {
      auto db = open_address_tables(cfg);
      auto rows = db->list_domains();
      auto arr = nlohmann::json::array();
      std::set<std::string> seen;
      for (const auto& c : cfg.domains) {
        const std::string n = common::to_lower(c);
        if (!seen.insert(n).second) continue;
        std::string ca;
        for (const auto& r : rows)
          if (r.name == n) ca = r.catch_all;
        arr.push_back({{"domain", n}, {"source", "config"}, {"catch_all", ca}});
      }
      for (const auto& r : rows)
        if (seen.insert(r.name).second)
          arr.push_back({{"domain", r.name}, {"source", "state"}, {"catch_all", r.catch_all}});
      if (a->format == "json") {
        std::cout << arr.dump(2) << "\n";
      } else {
        for (const auto& x : arr) {
          std::cout << x["domain"].get<std::string>() << "\t" << x["source"].get<std::string>();
          if (!x["catch_all"].get<std::string>().empty())
            std::cout << "\tcatch-all " << x["catch_all"].get<std::string>();
          std::cout << "\n";
        }
      }
      exit_code = 0;
    });
  });

  auto* ca = d->add_subcommand("catch-all", "set (TARGET) or turn off (no TARGET) a domain's catch-all");
  ca->add_option("DOMAIN", a->name, "domain name")->required();
  ca->add_option("TARGET", a->catch_all, "address that gets mail for unknown addresses; omit to turn it off");
  ca->callback([&opts, &exit_code, a] {
    auto cfg = load_config_or_exit(opts);
    address_guarded(exit_code, [&] {
      auto db = open_address_tables(cfg);
      // A config domain gets a row too, so its catch-all has somewhere to live.
      for (const auto& c : cfg.domains)
        if (common::iequals(c, a->name)) db->add_domain(c);
      db->set_catch_all(a->name, a->catch_all);
      std::cout << "catch-all of " << common::to_lower(a->name) << ": "
                << (a->catch_all.empty() ? std::string("off") : common::to_lower(a->catch_all)) << "\n";
      exit_code = 0;
    });
  });
}

void add_alias_verbs(CLI::App& app, common_options& opts, int& exit_code) {
  auto* al = app.add_subcommand("alias", "aliases of hosted domains: local and remote targets, who may send as them");
  al->require_subcommand(1);
  auto a = std::make_shared<address_alias_args>();

  auto* add = al->add_subcommand("add", "add targets (and allowed senders) to an alias, creating it");
  add->add_option("ADDRESS", a->address, "the alias, e.g. sales@example.org")->required();
  add->add_option("TARGET", a->targets, "local users, other aliases or remote addresses")->required();
  add->add_option("--send-as", a->send_as, "a user who may send as the alias (repeatable)");
  add->callback([&opts, &exit_code, a] {
    auto cfg = load_config_or_exit(opts);
    address_guarded(exit_code, [&] {
      auto db = open_address_tables(cfg);
      const std::string addr = address::checked_address(a->address, "alias");
      auto b = db->snapshot();
      const auto hosted = hosted_domain_set(cfg, *b);
      const std::string dom = addr.substr(addr.rfind('@') + 1);
      if (hosted.count(dom) == 0) {
        std::cerr << "mailfort: " << addr << " is not in a hosted domain (`mailfort domain add " << dom
                  << "` or the config's `domains`)\n";
        exit_code = 2;
        return;
      }
      for (const auto& u : a->send_as) {
        const std::string n = address::checked_address(u, "sender");
        if (b->users.count(n) == 0) {
          std::cerr << "mailfort: --send-as " << n << " is not a user (`mailfort user add`)\n";
          exit_code = 2;
          return;
        }
      }
      db->add_alias(addr, a->targets, a->send_as);
      auto r = address::resolve(addr, *db->snapshot(), address::options_from(cfg),
                                [&hosted](std::string_view d) { return hosted.count(std::string(d)) != 0; });
      std::cout << "alias " << addr << " -> ";
      if (r.result == address::outcome::ok) {
        for (std::size_t i = 0; i < r.recipients.size(); ++i) std::cout << (i ? ", " : "") << r.recipients[i];
        std::cout << "\n";
      } else {
        std::cout << "(" << address::outcome_name(r.result) << ")\n";
        std::cerr << "mailfort: warning: " << addr << " resolves to no mailbox now (" << address::outcome_name(r.result)
                  << "); mail to it is refused until it does\n";
      }
      exit_code = 0;
    });
  });

  auto* del = al->add_subcommand("del", "delete an alias (all its targets and senders)");
  del->add_option("ADDRESS", a->address, "the alias")->required();
  del->callback([&opts, &exit_code, a] {
    auto cfg = load_config_or_exit(opts);
    address_guarded(exit_code, [&] {
      if (!open_address_tables(cfg)->remove_alias(a->address)) {
        std::cerr << "mailfort: no alias " << common::to_lower(a->address) << "\n";
        exit_code = 1;
        return;
      }
      std::cout << "deleted alias " << common::to_lower(a->address) << "\n";
      exit_code = 0;
    });
  });

  auto* list = al->add_subcommand("list", "every alias with its targets and allowed senders");
  list->add_option("--format", a->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  list->callback([&opts, &exit_code, a] {
    auto cfg = load_config_or_exit(opts);
    address_guarded(exit_code, [&] {
      auto rows = open_address_tables(cfg)->list_aliases();
      if (a->format == "json") {
        auto arr = nlohmann::json::array();
        for (const auto& r : rows)
          arr.push_back({{"alias", r.address}, {"targets", r.targets}, {"send_as", r.senders}});
        std::cout << arr.dump(2) << "\n";
      } else {
        for (const auto& r : rows) {
          std::cout << r.address << " ->";
          for (const auto& t : r.targets) std::cout << " " << t;
          if (!r.senders.empty()) {
            std::cout << "  (send-as:";
            for (const auto& s : r.senders) std::cout << " " << s;
            std::cout << ")";
          }
          std::cout << "\n";
        }
      }
      exit_code = 0;
    });
  });
}

}  // namespace

void register_addresses(CLI::App& app, common_options& opts, int& exit_code) {
  add_domain_verbs(app, opts, exit_code);
  add_alias_verbs(app, opts, exit_code);
}

std::vector<config::diagnostic> address_findings(const config::config& cfg) {
  std::vector<config::diagnostic> out;
  const fs::path db_path = common::state_db_path(cfg.data_dir);
  std::error_code ec;
  if (!fs::exists(db_path, ec)) return out;  // nothing set up yet: no users, no aliases to judge
  try {
    address::address_db db(db_path.string());
    auto b = db.snapshot();
    const auto hosted = hosted_domain_set(cfg, *b);
    auto is_local = [&hosted](std::string_view d) { return hosted.count(std::string(d)) != 0; };
    if (cfg.address.srs && !cfg.address.srs_domain.empty() &&
        hosted.count(common::to_lower(cfg.address.srs_domain)) == 0) {
      config::diagnostic f;
      f.kind = config::diagnostic::kind::finding;
      f.severity = "medium";
      f.key = "address.srs_domain";
      f.message =
          "address.srs_domain " + cfg.address.srs_domain +
          " is not a hosted domain: bounces to forwarded mail cannot come back; host it or use one of `domains`";
      out.push_back(std::move(f));
    }
    for (const auto& d : hosted) {
      for (const char* role : {"postmaster", "abuse"}) {
        const std::string addr = std::string(role) + "@" + d;
        auto r = address::resolve(addr, *b, address::options_from(cfg), is_local);
        if (r.result == address::outcome::ok) continue;
        config::diagnostic f;
        f.kind = config::diagnostic::kind::finding;
        f.severity = "medium";
        f.key = "address.postmaster";
        f.message = addr + " goes nowhere (" + address::outcome_name(r.result) +
                    "): RFC 5321 4.5.1 and RFC 2142 require it; add a user (`mailfort user add`), an alias "
                    "(`mailfort alias add " +
                    addr + " USER`) or set address.postmaster";
        out.push_back(std::move(f));
      }
      if (auto it = b->catch_all.find(d); it != b->catch_all.end()) {
        config::diagnostic f;
        f.kind = config::diagnostic::kind::finding;
        f.severity = "low";
        f.key = "address.catch_all";
        f.message = "domain " + d + " has a catch-all (" + it->second +
                    "): every made-up address is accepted, which invites dictionary spam; turn it off with "
                    "`mailfort domain catch-all " +
                    d + "`";
        out.push_back(std::move(f));
      }
    }
  } catch (const std::exception& e) {
    config::diagnostic f;
    f.kind = config::diagnostic::kind::finding;
    f.severity = "low";
    f.key = "address";
    f.message = std::string("the address tables in state.db could not be read: ") + e.what();
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace mailfort::cli
