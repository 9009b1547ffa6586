// queue/runner.hpp: the delivery scheduler: local recipients into their Maildir, remote ones through a transport,
// retries with backoff, expiry and DSN bounces. The only writer of existing queue files.
// SPDX-License-Identifier: MIT
// One thread. Each scan reads the messages that are due (an in-memory index remembers when each deferred
// file is next due, and its mtime, so files that are not due are not read; `mailfort queue flush` asks the
// running server's runner through the control channel (flush()), or, with no server, makes them due by rewriting them).
// Local copies: staged, synced and renamed in batches (docs/queue.md). Remote recipients whose next attempt is due are
// grouped by domain and handed to the remote_transport, within a global and a per-domain concurrency limit; results
// come back on the transport's thread and are applied here: 2xx delivered, 5xx failed (+ DSN), 4xx deferred with
// exponential backoff and jitter (queue/schedule.hpp), and after the queue lifetime every pending recipient fails
// with 4.4.7 (+ DSN). Every state change is written to the queue file (fsynced) before anything depends on it, so after
// a crash or kill -9 nothing is lost: a copy whose acknowledgement was not yet recorded is delivered again (at least
// once), never zero times. A DSN is queued (durably) before the failure is recorded. DSNs go to the envelope sender,
// never to the null sender; a DSN is itself a queued message from <>, delivered locally or remotely like any other.
// Without a transport (the CLI's offline `queue flush`), remote recipients are left untouched.
#pragma once
#include "queue/remote.hpp"
#include "queue/schedule.hpp"
#include "queue/spool.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <optional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace mailfort::queue {

struct runner_settings {
  retry_settings retry;
  std::size_t max_connections = 20;            // remote deliveries in flight
  std::size_t max_connections_per_domain = 4;  // per destination domain (or the smart host)
  std::string hostname = "localhost";          // Reporting-MTA of DSNs
  std::int64_t delay_warning_s = 0;   // > 0: one delay DSN per recipient deferred this long (queue.delay_warning_s)
  bool per_domain_is_global = false;  // smart host: every domain goes to one destination
  // Optional: is this authenticated user's outbound mail held (queue/holds.hpp, outbound_spike)? Remote
  // recipients of their messages then stay pending, untried, until released (local copies still go).
  std::function<bool(const std::string& auth_user)> held;
  // Optional (issue 20): the mailbox (local part) and subaddress folder of a local recipient, e.g. alice+news@d
  // -> {"alice", "news"}. The folder is used only when the Maildir already has it (.news) and the message is
  // not quarantined into another one.
  std::function<std::pair<std::string, std::string>(const std::string& address)> local_mailbox;
  // Optional (issue 20): the SRS-rewritten envelope sender for mail an alias forwards to a remote address (a
  // recipient with an ORCPT); nullopt keeps the sender (null sender, or one of our SRS domain).
  std::function<std::optional<std::string>(const std::string& sender)> srs_forward;
};

class runner {
 public:
  // is_local(domain) decides local delivery; mail_root is <data_dir>/mail; remote may be null (no remote delivery).
  runner(spool& sp, std::filesystem::path mail_root, std::function<bool(const std::string& domain)> is_local,
         remote_transport* remote = nullptr, runner_settings rs = {});
  ~runner();
  void start();  // delivers everything already in the queue (recovery), then waits for kicks
  void stop();
  void kick();  // a new message is in the queue
  // `mailfort queue flush` through the control channel: the next scan treats every pending recipient as due
  // (deferred remote ones are retried now), the same scan the runner does on schedule; no second runner.
  void flush();
  // Deliver every due message once, synchronously (used by the thread and by `queue flush`). Remote jobs are
  // only started here; their results are applied by the thread.
  void run_once();

 private:
  struct inflight {
    envelope env;
    std::shared_ptr<const std::string> file;
    std::string_view message;
    std::size_t outstanding = 0;
  };
  struct completion {
    std::string id;
    std::string domain;
    std::vector<std::size_t> rcpt_index;
    std::vector<remote_result> results;
  };
  struct index_entry {
    std::int64_t due = 0;
    std::filesystem::file_time_type mtime;
    bool blocked = false;  // due, but every destination it needs was at its concurrency limit
  };
  struct bounce_item {
    std::string address, code, reason, relay;
    bool remote = false;
    bool delayed = false;  // a delay notice (Action: delayed), not a failure
  };

  void loop();
  void apply_completions();
  // Queues a DSN for these failed recipients of env (unless the sender is null). False if it could not be stored.
  bool bounce(const envelope& env, std::string_view message, const std::vector<bounce_item>& items);
  // Fails every pending recipient of env whose lifetime is over; returns true if any.
  bool expire(envelope& env, std::int64_t now, std::vector<bounce_item>& bounces);
  void remember(const envelope& env, std::int64_t now);
  void dispatch(envelope env, std::shared_ptr<const std::string> file, std::string_view message,
                const std::map<std::string, std::vector<std::size_t>>& due, std::int64_t now);
  std::string dest_key(const std::string& domain) const;
  double jitter();

  spool& spool_;
  std::filesystem::path mail_root_;
  std::function<bool(const std::string&)> is_local_;
  remote_transport* remote_;
  runner_settings rs_;
  // Shared with the transport's callbacks, which may outlive the runner during shutdown: they only ever
  // touch this, never the runner.
  struct signal_state {
    std::mutex mu;
    std::condition_variable cv;
    bool kicked = false;
    bool stopping = false;
    bool flush_all = false;              // set by flush(), taken by the next run_once()
    std::deque<completion> completions;  // guarded by mu
  };
  std::shared_ptr<signal_state> sig_ = std::make_shared<signal_state>();
  std::thread thread_;
  // Touched only by the thread that runs run_once()/apply_completions():
  std::map<std::string, inflight> inflight_;
  std::map<std::string, std::size_t> per_dest_;
  std::size_t active_ = 0;
  std::map<std::string, index_entry> index_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace mailfort::queue
