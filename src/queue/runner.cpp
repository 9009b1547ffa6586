// queue/runner.cpp: the delivery scheduler (see runner.hpp).
// SPDX-License-Identifier: MIT
#include "queue/runner.hpp"

#include "common/clock.hpp"
#include "delivery/maildir.hpp"
#include "log/logger.hpp"
#include "queue/dsn.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>
#include <tuple>

namespace mailfort::queue {

namespace {

// How long a kicked runner waits for more new messages before it delivers (see runner::loop).
constexpr std::chrono::milliseconds k_gather{20};

using common::unix_now;

std::string domain_of(const std::string& address) {
  auto at = address.rfind('@');
  std::string d = at == std::string::npos ? std::string() : address.substr(at + 1);
  for (auto& c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return d;
}

bool any_pending(const envelope& env) {
  return std::any_of(env.recipients.begin(), env.recipients.end(),
                     [](const recipient& r) { return r.status == recipient::state::pending; });
}

bool eight_bit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// One allocation of the file's size, one copy (not a stream buffer copied again).
std::optional<std::string> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary | std::ios::ate);
  if (!in) return std::nullopt;
  auto size = in.tellg();
  if (size < 0) return std::nullopt;
  std::string out(static_cast<std::size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(out.data(), static_cast<std::streamsize>(out.size()))) return std::nullopt;
  return out;
}

}  // namespace

runner::runner(spool& sp, std::filesystem::path mail_root, std::function<bool(const std::string&)> is_local,
               remote_transport* remote, runner_settings rs)
    : spool_(sp),
      mail_root_(std::move(mail_root)),
      is_local_(std::move(is_local)),
      remote_(remote),
      rs_(std::move(rs)) {}

runner::~runner() { stop(); }

void runner::start() {
  std::lock_guard lk(sig_->mu);
  if (thread_.joinable()) return;
  sig_->stopping = false;
  thread_ = std::thread([this] { loop(); });
}

void runner::stop() {
  {
    std::lock_guard lk(sig_->mu);
    sig_->stopping = true;
  }
  sig_->cv.notify_all();
  if (thread_.joinable()) thread_.join();
}

void runner::kick() {
  {
    std::lock_guard lk(sig_->mu);
    sig_->kicked = true;
  }
  sig_->cv.notify_one();
}

void runner::flush() {
  {
    std::lock_guard lk(sig_->mu);
    sig_->flush_all = true;
    sig_->kicked = true;
  }
  sig_->cv.notify_one();
}

double runner::jitter() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

std::string runner::dest_key(const std::string& domain) const { return rs_.per_domain_is_global ? "*" : domain; }

void runner::loop() {
  for (;;) {
    apply_completions();
    run_once();
    // Sleep until something happens or the next deferred message is due; at most 5 s, so that files made due
    // by `mailfort queue flush` (another process rewrites them) are seen quickly (a scan of files that are
    // not due costs one stat each).
    std::int64_t now = unix_now();
    std::int64_t wait_s = 5;
    for (const auto& [id, e] : index_)
      if (!e.blocked) wait_s = std::min(wait_s, std::max<std::int64_t>(0, e.due - now));
    std::unique_lock lk(sig_->mu);
    sig_->cv.wait_for(lk, std::chrono::seconds(wait_s) + std::chrono::milliseconds(50),
                      [this] { return sig_->stopping || sig_->kicked || !sig_->completions.empty(); });
    if (sig_->stopping) return;
    if (sig_->kicked) {
      // A new message: wait a moment before the scan so that the messages right behind it (one per sending
      // session, a few milliseconds apart) share its batch: one syncfs and one fsync of each Maildir new/ for
      // all of them. With one sending session each message otherwise pays two journal commits of its own on
      // delivery, on top of the two of its receipt (bench/README.md). It delays local delivery by
      // k_gather, never the 250.
      sig_->cv.wait_for(lk, k_gather, [this] { return sig_->stopping; });
      if (sig_->stopping) return;
    }
    sig_->kicked = false;
  }
}

void runner::remember(const envelope& env, std::int64_t now) {
  index_entry e;
  e.due = INT64_MAX;
  for (const auto& r : env.recipients) {
    if (r.status != recipient::state::pending) continue;
    std::string d = domain_of(r.address);
    // Local recipients (a Maildir write failed) are retried within a minute; remote ones when due.
    e.due = std::min(e.due, (is_local_(d) || !remote_) ? now + 60 : r.next_attempt);
  }
  // A held sender's mail is looked at again every few seconds (a release is seen quickly, without spinning).
  if (!env.auth_user.empty() && rs_.held && rs_.held(env.auth_user)) e.due = std::max(e.due, now + 5);
  // A message a milter quarantined (held as "queue:<id>") waits for `mailfort queue release ID` the same way.
  if (rs_.held && rs_.held("queue:" + env.id)) e.due = now + 5;
  std::error_code ec;
  e.mtime = std::filesystem::last_write_time(spool_.path_of(env.id), ec);
  if (ec) {
    index_.erase(env.id);
    return;
  }
  index_[env.id] = e;
}

bool runner::expire(envelope& env, std::int64_t now, std::vector<bounce_item>& bounces) {
  if (!expired(env.received_at, now, rs_.retry)) return false;
  bool any = false;
  for (auto& r : env.recipients) {
    if (r.status != recipient::state::pending) continue;
    r.status = recipient::state::failed;
    std::string why = "delivery time expired after " + std::to_string(r.attempts) + " attempt(s)" +
                      (r.last_error.empty() ? "" : "; last error: " + r.last_error);
    log::error("delivery_failed", {{"queue_id", env.id}, {"rcpt", r.address}, {"reason", why}, {"expired", true}});
    bounces.push_back({r.address, "4.4.7", why, "", false});
    r.last_error = why;
    any = true;
  }
  return any;
}

bool runner::bounce(const envelope& env, std::string_view message, const std::vector<bounce_item>& items) {
  if (items.empty()) return true;
  if (!should_bounce(env.sender)) {
    log::info("bounce_suppressed", {{"queue_id", env.id},
                                    {"rcpts", items.size()},
                                    {"reason", "the null sender never gets a DSN (RFC 5321 4.5.5)"}});
    return true;
  }
  dsn_input in;
  in.reporting_mta = rs_.hostname;
  in.sender = env.sender;
  in.queue_id = env.id;
  in.arrival = env.received_at;
  in.now = unix_now();
  in.original = message;
  for (const auto& b : items) {
    dsn_recipient r;
    r.address = b.address;
    r.action = b.delayed ? "delayed" : "failed";
    r.status = b.code;
    r.diagnostic = b.reason;
    r.remote = b.remote;
    if (b.remote) {
      // relay is "host[ip]:port (TLS...)": the host name alone is the Remote-MTA.
      r.remote_mta = b.relay.substr(0, b.relay.find('['));
    }
    in.recipients.push_back(std::move(r));
  }
  std::string msg = build_dsn(in);
  envelope d;
  d.sender = "";
  d.recipients.push_back(recipient{env.sender});
  d.received_at = in.now;
  d.listener = "bounce";
  d.helo = rs_.hostname;
  d.body_type = eight_bit(msg) ? "8BITMIME" : "7BIT";
  d.smtputf8 = eight_bit(env.sender);
  try {
    auto id = spool_.store(std::move(d), msg);
    std::size_t delayed = 0;
    for (const auto& b : items) delayed += b.delayed ? 1 : 0;
    if (delayed == items.size())
      log::info("delay_notice_queued", {{"queue_id", env.id}, {"dsn_id", id}, {"to", env.sender}, {"rcpts", delayed}});
    else
      log::info("bounce_queued", {{"queue_id", env.id},
                                  {"dsn_id", id},
                                  {"to", env.sender},
                                  {"rcpts", items.size() - delayed},
                                  {"delayed", delayed}});
    std::lock_guard lk(sig_->mu);
    sig_->kicked = true;  // deliver it at the next scan
    return true;
  } catch (const std::exception& e) {
    log::error("bounce_failed", {{"queue_id", env.id}, {"error", e.what()}});
    return false;
  }
}

// Delivers in batches: every local copy of up to k_batch messages is written to its Maildir tmp/,
// made durable with one syncfs, renamed into new/ (one fsync per mailbox directory), and only then
// are the queue files updated (fsynced) or removed (not fsynced: see spool::forget_delivered). Crash at any point: a
// copy may be delivered twice, never lost (see docs/queue.md). Remote recipients that are due are dispatched after the
// file records the local outcome.
void runner::run_once() {
  constexpr std::size_t k_batch = 256;
  // A batch holds its files in memory: it also ends after k_batch_bytes, so large messages go a few at a time.
  constexpr std::size_t k_batch_bytes = 32u * 1024 * 1024;
  auto ids = spool_.list();
  const std::int64_t now = unix_now();
  bool flushing = false;  // flush(): every pending recipient is due in this scan
  {
    std::lock_guard lk(sig_->mu);
    std::swap(flushing, sig_->flush_all);
  }
  {
    // Forget index entries of files that are gone (delivered, deleted by `queue delete`).
    std::map<std::string, index_entry> kept;
    for (const auto& id : ids)
      if (auto it = index_.find(id); it != index_.end()) kept.insert(*it);
    index_.swap(kept);
  }
  for (std::size_t first = 0, next = 0; first < ids.size(); first = next) {
    {
      std::lock_guard lk(sig_->mu);
      if (sig_->stopping) return;
    }
    struct job {
      std::string id;
      std::shared_ptr<std::string> file;
      envelope env;
      std::string_view message;
      std::vector<std::pair<std::size_t, std::size_t>> copies;     // recipient index, staged index
      std::map<std::string, std::vector<std::size_t>> remote_due;  // domain -> recipient indexes
      std::vector<bounce_item> bounces;
      bool changed = false;
    };
    std::vector<job> jobs;
    jobs.reserve(k_batch);
    std::vector<delivery::staged_file> staged;
    std::size_t batch_bytes = 0;
    next = first;
    for (std::size_t n = first; n < ids.size() && n < first + k_batch && batch_bytes < k_batch_bytes; ++n) {
      next = n + 1;
      const auto& id = ids[n];
      if (inflight_.count(id)) continue;
      if (auto it = index_.find(id); !flushing && it != index_.end() && it->second.due > now) {
        std::error_code ec;
        auto mt = std::filesystem::last_write_time(spool_.path_of(id), ec);
        if (!ec && mt == it->second.mtime) continue;  // not due, and nobody rewrote it meanwhile
      }
      auto content = read_file(spool_.path_of(id));
      if (!content) continue;  // removed meanwhile
      batch_bytes += content->size();
      job j;
      j.id = id;
      j.file = std::make_shared<std::string>(std::move(*content));
      auto d = decode(*j.file);
      if (d.error != decode_error::ok) {
        // A corrupt file must not block the rest of the queue (bad-input 55).
        spool_.quarantine(id);
        index_.erase(id);
        log::error("queue_quarantine", {{"queue_id", id}, {"reason", decode_error_name(d.error)}});
        continue;
      }
      jobs.push_back(std::move(j));
      job& jb = jobs.back();
      jb.env = d.env;
      jb.message = d.message;
      jb.changed = expire(jb.env, now, jb.bounces);
      const bool held = !jb.env.auth_user.empty() && rs_.held && rs_.held(jb.env.auth_user);
      const bool message_held = rs_.held && rs_.held("queue:" + id);  // quarantined by a milter: nothing delivered
      for (std::size_t ri = 0; ri < jb.env.recipients.size(); ++ri) {
        auto& r = jb.env.recipients[ri];
        if (r.status != recipient::state::pending || message_held) continue;
        auto at = r.address.rfind('@');
        std::string local = at == std::string::npos ? r.address : r.address.substr(0, at);
        std::string domain = at == std::string::npos ? "" : r.address.substr(at + 1);
        if (!is_local_(domain)) {
          if (remote_ && (flushing || r.next_attempt <= now) && !held)
            jb.remote_due[domain_of(r.address)].push_back(ri);
          continue;
        }
        std::string tag;
        if (rs_.local_mailbox) std::tie(local, tag) = rs_.local_mailbox(r.address);
        auto box = delivery::mailbox_path(mail_root_, local, domain);
        if (!box) {
          r.status = recipient::state::failed;
          r.last_error = "unsafe mailbox name";
          jb.changed = true;
          jb.bounces.push_back({r.address, "5.1.3", "unsafe mailbox name", "", false});
          log::error("delivery_failed", {{"queue_id", id}, {"rcpt", r.address}, {"reason", "unsafe mailbox name"}});
          continue;
        }
        std::error_code fec;
        if (!jb.env.folder.empty()) {
          *box /= "." + jb.env.folder;  // Maildir++ folder, e.g. .Junk
        } else if (!tag.empty() && std::filesystem::is_directory(*box / ("." + tag), fec)) {
          *box /= "." + tag;  // user+tag@: the folder of that name, when the user made it
        }
        delivery::staged_file f;
        if (auto ec = delivery::stage_maildir(*box, jb.message, f); ec) {
          log::warning("deferred", {{"queue_id", id}, {"rcpt", r.address}, {"reason", ec.message()}});
          continue;
        }
        jb.copies.emplace_back(ri, staged.size());
        staged.push_back(std::move(f));
      }
    }
    auto results = delivery::commit_maildir(staged);
    std::vector<std::string> done;
    for (auto& jb : jobs) {
      for (auto [ri, si] : jb.copies) {
        auto& r = jb.env.recipients[ri];
        if (results[si]) {
          log::warning("deferred", {{"queue_id", jb.id}, {"rcpt", r.address}, {"reason", results[si].message()}});
          continue;
        }
        r.status = recipient::state::delivered;
        jb.changed = true;
        auto at = r.address.rfind('@');
        log::info("delivered", {{"queue_id", jb.id},
                                {"rcpt", r.address},
                                {"mailbox", r.address.substr(at + 1) + "/" + r.address.substr(0, at)},
                                {"file", staged[si].name}});
      }
      try {
        // The DSN is durable before the failure is recorded: a crash in between sends it twice, never zero times.
        if (!bounce(jb.env, jb.message, jb.bounces)) {
          index_.erase(jb.id);
          continue;  // the file keeps its old state; retried at the next scan
        }
        if (!any_pending(jb.env)) {
          done.push_back(jb.id);
          index_.erase(jb.id);
          continue;
        }
        if (jb.changed) spool_.rewrite(jb.env, jb.message);
        if (!jb.remote_due.empty()) {
          dispatch(jb.env, jb.file, jb.message, jb.remote_due, now);
        } else {
          remember(jb.env, now);
        }
      } catch (const std::exception& e) {
        log::error("queue_update_failed", {{"queue_id", jb.id}, {"error", e.what()}});
      }
    }
    spool_.forget_delivered(done);
  }
}

void runner::dispatch(envelope env, std::shared_ptr<const std::string> file, std::string_view message,
                      const std::map<std::string, std::vector<std::size_t>>& due, std::int64_t now) {
  const std::string id = env.id;
  std::size_t started = 0;
  for (const auto& [domain, idx] : due) {
    const std::string key = dest_key(domain);
    if (active_ >= rs_.max_connections || per_dest_[key] >= rs_.max_connections_per_domain) continue;
    remote_job j;
    j.queue_id = id;
    j.sender = env.sender;
    j.domain = domain;
    bool forwarded = false;
    for (auto i : idx) {
      j.recipients.push_back(env.recipients[i].address);
      forwarded = forwarded || !env.recipients[i].orcpt.empty();
    }
    // Forwarded by an alias: the receiver checks SPF against us, so the sender is rewritten (SRS) and a bounce
    // comes back here to be reversed and checked.
    if (forwarded && rs_.srs_forward && !env.sender.empty())
      if (auto srs = rs_.srs_forward(env.sender)) j.sender = *srs;
    j.file = file;
    j.message = message;
    j.eight_bit = env.body_type == "8BITMIME";
    j.smtputf8 = env.smtputf8;
    ++active_;
    ++per_dest_[key];
    ++started;
    auto rcpt_index = idx;
    // (dom = domain: clang 14 cannot capture a structured binding)
    remote_->submit(std::move(j), [sig = sig_, id, dom = domain, rcpt_index](std::vector<remote_result> res) {
      {
        std::lock_guard lk(sig->mu);
        sig->completions.push_back(completion{id, dom, rcpt_index, std::move(res)});
      }
      sig->cv.notify_one();
    });
  }
  if (started == 0) {
    // Every destination is busy: picked up again when a delivery completes (or within a minute).
    index_entry e;
    e.due = now + 60;
    e.blocked = true;
    std::error_code ec;
    e.mtime = std::filesystem::last_write_time(spool_.path_of(id), ec);
    index_[id] = e;
    return;
  }
  index_.erase(id);
  inflight f;
  f.env = std::move(env);
  f.file = std::move(file);
  f.message = message;
  f.outstanding = started;
  inflight_[id] = std::move(f);
}

void runner::apply_completions() {
  std::deque<completion> batch;
  {
    std::lock_guard lk(sig_->mu);
    batch.swap(sig_->completions);
  }
  if (!batch.empty()) {
    // Capacity was freed: messages that waited for it are read again at the next scan.
    for (auto it = index_.begin(); it != index_.end();) it = it->second.blocked ? index_.erase(it) : std::next(it);
  }
  for (auto& c : batch) {
    --active_;
    if (auto it = per_dest_.find(dest_key(c.domain)); it != per_dest_.end() && it->second > 0) --it->second;
    auto it = inflight_.find(c.id);
    if (it == inflight_.end()) continue;
    auto& f = it->second;
    const std::int64_t now = unix_now();
    std::vector<bounce_item> bounces;
    for (std::size_t k = 0; k < c.rcpt_index.size() && k < c.results.size(); ++k) {
      auto& r = f.env.recipients.at(c.rcpt_index[k]);
      const auto& res = c.results[k];
      switch (res.k) {
        case remote_result::kind::delivered:
          r.status = recipient::state::delivered;
          r.last_error.clear();
          log::info("delivered",
                    {{"queue_id", c.id}, {"rcpt", r.address}, {"relay", res.relay}, {"reply", res.reason}});
          break;
        case remote_result::kind::perm:
          r.status = recipient::state::failed;
          r.last_error = res.reason;
          log::error("delivery_failed", {{"queue_id", c.id},
                                         {"rcpt", r.address},
                                         {"relay", res.relay},
                                         {"code", res.code},
                                         {"reason", res.reason}});
          bounces.push_back({r.address, res.code, res.reason, res.relay, res.remote});
          break;
        case remote_result::kind::temp:
          ++r.attempts;
          r.last_error = res.reason;
          r.next_attempt = next_attempt_at(now, r.attempts, f.env.received_at, rs_.retry, jitter());
          log::warning("deferred", {{"queue_id", c.id},
                                    {"rcpt", r.address},
                                    {"relay", res.relay},
                                    {"code", res.code},
                                    {"reason", res.reason},
                                    {"attempts", r.attempts},
                                    {"next_attempt", r.next_attempt}});
          if (expired(f.env.received_at, now, rs_.retry)) {
            // That was the last attempt the lifetime allows: give up now, with the last reason in the DSN.
            r.status = recipient::state::failed;
            std::string why =
                "delivery time expired after " + std::to_string(r.attempts) + " attempt(s); last error: " + res.reason;
            log::error(
                "delivery_failed",
                {{"queue_id", c.id}, {"rcpt", r.address}, {"transport", "remote"}, {"reason", why}, {"expired", true}});
            bounces.push_back({r.address, "4.4.7", why, res.relay, false});
            r.last_error = why;
          } else if (rs_.delay_warning_s > 0 && !r.delay_notified && now - f.env.received_at >= rs_.delay_warning_s) {
            // Once per recipient (recorded in the queue file with this attempt); the null sender gets none.
            r.delay_notified = true;
            bounces.push_back({r.address, res.code, res.reason, res.relay, res.remote, true});
          }
          break;
      }
    }
    --f.outstanding;
    ++f.env.attempts;
    try {
      if (!bounce(f.env, f.message, bounces)) {
        // Nothing recorded: the file still says pending, the next scan tries again (a duplicate at worst).
        if (f.outstanding == 0) inflight_.erase(it);
        continue;
      }
      if (!any_pending(f.env)) {
        if (f.outstanding == 0) {
          spool_.forget_delivered({c.id});
          inflight_.erase(it);
        } else {
          spool_.rewrite(f.env, f.message);
        }
        continue;
      }
      std::int64_t next = INT64_MAX;
      for (const auto& r : f.env.recipients)
        if (r.status == recipient::state::pending) next = std::min(next, r.next_attempt);
      f.env.next_attempt = next == INT64_MAX ? 0 : next;
      spool_.rewrite(f.env, f.message);
      if (f.outstanding == 0) {
        remember(f.env, now);
        inflight_.erase(it);
      }
    } catch (const std::exception& e) {
      log::error("queue_update_failed", {{"queue_id", c.id}, {"error", e.what()}});
      if (f.outstanding == 0) inflight_.erase(it);
    }
  }
}

}  // namespace mailfort::queue
