// cli/tlsrpt.cpp: `mailfort tlsrpt show` (the TLS session counts kept for RFC 8460 reports) and
// `mailfort tlsrpt send [--completed-only]` (queue the reports now; a running server delivers them within 5 s).
// SPDX-License-Identifier: MIT
#include "cli/cli.hpp"
#include "common/state_db.hpp"
#include "report/tlsrpt_send.hpp"
#include "report/tlsrpt_store.hpp"
#include "queue/spool.hpp"

#include <boost/asio/io_context.hpp>

#include <ctime>
#include <filesystem>
#include <iostream>

namespace mailfort::cli {

void register_tlsrpt(CLI::App& app, common_options& opts, int& exit_code) {
  auto* t = app.add_subcommand("tlsrpt", "TLS reporting (RFC 8460): session counts and daily reports");
  t->require_subcommand(1);
  auto* show = t->add_subcommand("show", "print the recorded TLS session counts per day and destination domain");
  show->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    std::filesystem::create_directories(cfg.data_dir);
    report::tlsrpt_store store(common::state_db_path(cfg.data_dir));
    auto pending = store.pending();
    if (pending.empty()) std::cout << "no TLS sessions recorded\n";
    for (const auto& [day, domain] : pending)
      for (const auto& r : store.rows(day, domain))
        std::cout << day << "  " << domain << "  " << r.s.policy_type << "  "
                  << (r.s.result_type.empty() ? "success" : r.s.result_type) << "  " << r.s.receiving_mx << "  "
                  << r.count << "\n";
    exit_code = 0;
  });
  static bool completed_only = false;
  auto* send = t->add_subcommand("send", "queue the aggregate reports now (to each domain's _smtp._tls rua)");
  send->add_flag("--completed-only", completed_only, "only days before today (UTC), as the daily timer does");
  send->callback([&opts, &exit_code] {
    auto cfg = load_config_or_exit(opts);
    std::filesystem::path data = cfg.data_dir;
    std::filesystem::create_directories(data);
    report::tlsrpt_store store(common::state_db_path(data));
    queue::spool spool(data / "queue");
    spool.start();  // store() waits for the commit thread
    boost::asio::io_context io;
    dns::resolver resolver(io.get_executor(), resolver_options_for(cfg, opts));
    auto st = report::send_tlsrpt_reports(cfg, store, resolver, spool, static_cast<std::int64_t>(std::time(nullptr)),
                                          !completed_only);
    std::cout << st.reports << " report(s) queued for " << st.domains << " domain-day(s); " << st.no_record
              << " without a TLSRPT record, " << st.deferred << " deferred (DNS failure)\n";
    exit_code = st.deferred > 0 ? 1 : 0;
  });
}

}  // namespace mailfort::cli
