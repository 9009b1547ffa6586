// cli/dmarc.cpp: `mailfort dmarc check --from-domain D [--dkim-pass DOMAIN]... [--spf-pass DOMAIN]`: DMARC
// policy discovery and alignment for already-known DKIM/SPF outcomes, against live DNS.
// SPDX-License-Identifier: MIT
// Text output is one line: `dmarc=<result> policy=<applied> requested=<p|-> domain=<policy domain|-> spf_aligned=yes|no
// dkim_aligned=yes|no`; --format json prints every field. Exit code: 0 when DMARC passes, 1 for any other
// result (none, fail, temperror, permerror), 2 when it could not run. The message form
// (`dmarc check < message --ip --sender --helo`) needs the SPF and DKIM verifiers and is not here yet.
// `mailfort dmarc report show` prints the aggregate-report rows in state.db; `mailfort dmarc report send
// [--include-today]` queues the reports of completed days (and today) now, as the daily timer does (exit 1 when
// a DNS failure deferred some); a running server delivers them within 5 s.
#include "auth/dmarc.hpp"
#include "cli/cli.hpp"
#include "common/ascii.hpp"
#include "common/state_db.hpp"
#include "report/dmarc_store.hpp"
#include "report/dmarc_send.hpp"
#include "queue/spool.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>

namespace mailfort::cli {

namespace {

bool valid_domain(const std::string& s) {
  if (s.empty() || s.size() > 253 || s.front() == '.' || s.find("..") != std::string::npos) return false;
  for (char c : s)
    if (!common::is_alnum(c) && c != '-' && c != '.' && c != '_') return false;
  return true;
}

const char* yes_no(bool b) { return b ? "yes" : "no"; }

}  // namespace

void register_dmarc(CLI::App& app, common_options& opts, int& exit_code) {
  auto* d = app.add_subcommand("dmarc", "DMARC policy evaluation");
  d->require_subcommand(1);
  static std::string from_domain, spf_pass, format = "text", discovery = "tree-walk";
  static std::vector<std::string> dkim_passes;

  auto* ck = d->add_subcommand("check", "evaluate DMARC for a From domain and the identifiers that passed");
  ck->add_option("--from-domain", from_domain, "the RFC5322.From domain (A-labels)")->required();
  ck->add_option("--dkim-pass", dkim_passes, "d= of a DKIM signature that passed (repeatable)");
  ck->add_option("--spf-pass", spf_pass, "domain whose SPF check passed (MAIL FROM, or HELO for <>)");
  ck->add_option("--format", format, "text or json")->check(CLI::IsMember({"text", "json"}));
  ck->add_option("--discovery", discovery, "tree-walk (RFC 9989, default) or psl (RFC 7489 Public Suffix List)")
      ->check(CLI::IsMember({"tree-walk", "psl"}));
  ck->callback([&opts, &exit_code] {
    exit_code = 2;
    std::vector<std::string> all = dkim_passes;
    all.push_back(from_domain);
    if (!spf_pass.empty()) all.push_back(spf_pass);
    for (const auto& s : all) {
      if (!valid_domain(s)) {
        std::cerr << "mailfort: not a domain name: " << common::printable(s) << "\n";
        return;
      }
    }
    auto cfg = load_config_or_exit(opts);
    dmarc::input in;
    in.from.domain = common::to_lower(from_domain);
    in.dkim_passes = dkim_passes;
    if (!spf_pass.empty()) in.spf = {"pass", spf_pass};
    in.mode = discovery == "psl" ? dmarc::discovery::psl : dmarc::discovery::tree_walk;
    dmarc::result res;
    try {
      boost::asio::io_context io;
      dns::resolver r(io.get_executor(), sender_auth_resolver_options(cfg, opts));
      std::exception_ptr failure;
      boost::asio::co_spawn(io, dmarc::evaluate(r, in), [&](std::exception_ptr e, dmarc::result v) {
        if (e)
          failure = e;
        else
          res = std::move(v);
      });
      io.run();
      if (failure) std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::cerr << "mailfort: " << e.what() << "\n";
      return;
    }
    const std::string requested = res.requested ? dmarc::to_string(*res.requested) : "-";
    const std::string domain = res.policy_domain.empty() ? "-" : res.policy_domain;
    if (format == "json") {
      nlohmann::json j = {
          {"result", dmarc::to_string(res.result)},
          {"policy", dmarc::to_string(res.applied)},
          {"requested", res.requested ? nlohmann::json(dmarc::to_string(*res.requested)) : nlohmann::json()},
          {"policy_domain", res.policy_domain},
          {"from_domain", res.author_domain},
          {"org_domain", res.org_domain},
          {"spf_aligned", res.spf_aligned},
          {"dkim_aligned", res.dkim_aligned},
          {"sampled_out", res.sampled_out},
          {"reason", res.reason},
          {"queries", res.queries}};
      if (res.rec) {
        const auto& rec = *res.rec;
        nlohmann::json rua = nlohmann::json::array();
        for (const auto& u : rec.rua) rua.push_back(u.uri);
        j["record"] = {{"p", dmarc::to_string(rec.p)},
                       {"sp", dmarc::to_string(rec.sp)},
                       {"np", dmarc::to_string(rec.np)},
                       {"adkim", dmarc::to_string(rec.adkim)},
                       {"aspf", dmarc::to_string(rec.aspf)},
                       {"pct", rec.pct},
                       {"rua", rua},
                       {"psd", std::string(1, rec.psd)},
                       {"t", rec.t}};
      }
      // Record values come from DNS: dump() escapes, and invalid UTF-8 is replaced rather than thrown on.
      std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      std::cout << "dmarc=" << dmarc::to_string(res.result) << " policy=" << dmarc::to_string(res.applied)
                << " requested=" << requested << " domain=" << domain << " spf_aligned=" << yes_no(res.spf_aligned)
                << " dkim_aligned=" << yes_no(res.dkim_aligned) << "\n";
    }
    exit_code = res.result == dmarc::result_kind::pass ? 0 : 1;
  });

  // Aggregate reports (RFC 7489 7.2): the rows kept in state.db, and sending them now.
  auto* rep = d->add_subcommand("report", "DMARC aggregate reports: the recorded rows and the daily report mails");
  rep->require_subcommand(1);
  auto* show = rep->add_subcommand("show", "print the recorded rows per day and policy domain");
  show->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    std::filesystem::create_directories(cfg.data_dir);
    report::dmarc_store store(common::state_db_path(cfg.data_dir));
    auto rows = store.rows();
    if (rows.empty()) std::cout << "no DMARC results recorded\n";
    for (const auto& r : rows)
      std::cout << r.day << "  " << common::printable(r.policy_domain) << "  " << common::printable(r.header_from)
                << "  " << r.source_ip << "  " << r.disposition << "  dkim=" << r.dkim << "  spf=" << r.spf << "  "
                << r.count << "\n";
    exit_code = 0;
  });
  static bool include_today = false;
  auto* send = rep->add_subcommand("send", "queue the aggregate reports of completed days now (to each domain's rua)");
  send->add_flag("--include-today", include_today, "also report today (UTC), which is not complete yet");
  send->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    std::filesystem::path data = cfg.data_dir;
    std::filesystem::create_directories(data);
    report::dmarc_store store(common::state_db_path(data));
    queue::spool spool(data / "queue");
    spool.start();  // store() waits for the commit thread
    boost::asio::io_context io;
    dns::resolver resolver(io.get_executor(), sender_auth_resolver_options(cfg, opts));
    auto st = report::send_dmarc_reports(cfg, store, resolver, spool, static_cast<std::int64_t>(std::time(nullptr)),
                                         include_today);
    std::cout << st.reports << " report(s) queued for " << st.domains << " domain-day(s); " << st.no_record
              << " without a DMARC record, " << st.no_rua << " without a usable rua, " << st.too_big
              << " too big for the destination, " << st.deferred << " deferred (DNS failure)\n";
    exit_code = st.deferred > 0 ? 1 : 0;
  });
}

}  // namespace mailfort::cli
