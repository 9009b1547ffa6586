// smtp/cleanup.cpp: the message between the session and the queue: filters, checks or signing, our headers, the
// envelope, the spool (see cleanup.hpp).
// SPDX-License-Identifier: MIT
#include "smtp/cleanup.hpp"

#include "common/ascii.hpp"
#include "filter/attachments.hpp"
#include "filter/milter_client.hpp"
#include "log/events.hpp"
#include "log/logger.hpp"
#include "queue/envelope.hpp"
#include "queue/message_file.hpp"
#include "queue/spool.hpp"
#include "smtp/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <memory>

namespace mailfort::smtp {

namespace asio = boost::asio;

namespace {

// Events and reject rules are the declared ones (log/events.hpp), never bare strings.
using ev = log::event_id;
using rule = log::reject_rule;

cleanup_outcome refused(int code, std::string enhanced, std::string text, std::string rule) {
  cleanup_outcome o;
  o.what = cleanup_outcome::kind::refused;
  o.code = code;
  o.enhanced = std::move(enhanced);
  o.text = std::move(text);
  o.rule = std::move(rule);
  return o;
}

cleanup_outcome store_failed(std::error_code ec) {
  cleanup_outcome o;
  o.what = cleanup_outcome::kind::store_failed;
  o.errc = ec.value();
  return o;
}

// Runs on the CPU pool: the attachment policy's MIME walk over the header section and the body file.
asio::awaitable<filter::attachment_report> walk_attachments(std::vector<std::string> extensions,
                                                            const std::string* head, const queue::message_file* mf) {
  filter::mime_walker w(std::move(extensions));
  w.feed(*head);
  if (mf->read_body([&w](std::string_view chunk) { w.feed(chunk); })) {
    filter::attachment_report r;
    r.truncated = true;  // the spool will fail on the same file; nothing to refuse here
    co_return r;
  }
  co_return w.finish();
}

}  // namespace

std::size_t cleanup::envelope_room(const session& sess, const client_facts& client) {
  const auto& tx = sess.current_transaction();
  std::size_t n = 1024 + tx.sender.size() + sess.helo().size() + sess.auth_user().size() + client.session_id.size() +
                  client.client_ip.size() + client.tls_version.size() + client.tls_cipher.size();
  for (const auto& r : tx.recipients) n += r.size() + 16;
  return n;
}

nlohmann::json cleanup::fields(nlohmann::json extra) const {
  extra["session"] = std::string(client_.session_id);
  extra["client"] = std::string(client_.client);
  extra["client_ip"] = std::string(client_.client_ip);
  extra["listener"] = listener_name(client_.kind);
  return extra;
}

asio::awaitable<cleanup_outcome> cleanup::process(const session& sess, queue::message_file& mf,
                                                  received_content received) {
  if (!received.sink_error && !received.over_budget) received.sink_error = mf.finish();
  message_content content;
  content.head = std::move(mf.head());
  content.body_size = mf.body_size();
  content.read_body = [&mf](const std::function<void(std::string_view)>& fn) { return mf.read_body(fn); };
  if (received.over_budget)
    co_return refused(452, "4.3.1", "Insufficient system storage; try again later",
                      log::rule_field(rule::inflight_budget));
  if (received.sink_error) {
    log::error(log::name(ev::spool_error), fields({{"queue_id", mf.id()}, {"error", received.sink_error.message()}}));
    co_return store_failed(received.sink_error);
  }
  if (deps_.cfg->filter.attachment_policy) {
    auto r = co_await check_attachments(content, mf);
    if (r) co_return std::move(*r);
  }
  const auto& tx = sess.current_transaction();
  draft d{tx.sender, tx.recipients, {}, {}, false};
  // Milters ([[filter.milter]]), before the checks: they see the message as received, and the checks (DKIM
  // verification and signing) see it as the milters left it.
  if (filter::any_for(*deps_.cfg, listener_name(client_.kind))) {
    auto r = co_await run_milters(sess, content, mf, d);
    if (r) co_return std::move(*r);
  }
  if (d.discarded) {
    // A milter discarded it: the client is told it was accepted (as Postfix does), nothing is queued.
    cleanup_outcome o;
    o.what = cleanup_outcome::kind::discarded;
    o.queue_id = mf.id();
    co_return o;
  }
  {
    auto r = co_await authenticate(sess, content, mf.id(), d);
    if (r) co_return std::move(*r);
  }
  if (!d.quarantined.empty()) {
    // Held before the file reaches active/: the runner never sees it unheld.
    deps_.hold_message(mf.id(), d.quarantined);
    log::warning(log::name(ev::quarantined), fields({{"queue_id", mf.id()}, {"reason", d.quarantined}}));
  }
  co_return co_await store(sess, mf, content, d);
}

// The built-in attachment policy (filter/attachments.hpp), on the CPU pool: it reads the whole body.
asio::awaitable<std::optional<cleanup_outcome>> cleanup::check_attachments(const message_content& content,
                                                                           const queue::message_file& mf) {
  auto rep = co_await asio::co_spawn(
      *deps_.cpu_pool, walk_attachments(deps_.cfg->filter.blocked_extensions, &content.head, &mf), asio::use_awaitable);
  for (const auto& a : rep.archives)
    log::info(log::name(ev::attachment_archive),
              fields({{"queue_id", mf.id()}, {"filename", common::printable(a.name, 256)}, {"type", a.content_type}}));
  if (!rep.blocked) co_return std::nullopt;
  log::warning(log::name(ev::attachment_refused), fields({{"queue_id", mf.id()},
                                                          {"filename", common::printable(rep.blocked->name, 256)},
                                                          {"extension", common::printable(rep.blocked->extension, 32)},
                                                          {"type", rep.blocked->content_type},
                                                          {"why", rep.blocked->why}}));
  co_return refused(550, "5.7.1",
                    "Message refused: an attachment is of a type we do not accept (executable, script or macro "
                    "document)",
                    log::rule_field(rule::attachment_policy));
}

asio::awaitable<std::optional<cleanup_outcome>> cleanup::run_milters(const session& sess, message_content& content,
                                                                     queue::message_file& mf, draft& d) {
  const auto& cfg = *deps_.cfg;
  const auto& tx = sess.current_transaction();
  filter::transaction_info ti;
  ti.hostname = cfg.hostname;
  ti.listener = listener_name(client_.kind);
  ti.daemon_addr = client_.local_ip;
  ti.client_ip = client_.client_ip;
  ti.client_port = client_.client_port;
  ti.helo = sess.helo();
  if (sess.tls_active()) {
    ti.tls_version = client_.tls_version;
    ti.tls_cipher = client_.tls_cipher;
  }
  ti.auth_user = sess.auth_user();
  ti.auth_mechanism = sess.auth_mechanism();
  ti.queue_id = mf.id();
  ti.session_id = client_.session_id;
  ti.local_domains = &cfg.domains;
  ti.tmp_dir = deps_.spool->dir() / "tmp";
  auto o = co_await filter::run_milters(ex_, cfg, ti, content.head, mf, tx.sender, tx.recipients);
  using fv = filter::outcome::verdict;
  if (o.action == fv::reject || o.action == fv::tempfail || o.action == fv::shutdown) {
    std::string text;
    for (const auto& l : o.reply.lines) text += (text.empty() ? "" : " ") + l;
    auto r = refused(o.reply.code, o.reply.enhanced, std::move(text), o.rule);
    r.close = o.action == fv::shutdown;
    co_return r;
  }
  if (o.action == fv::discard) {
    d.discarded = true;
    co_return std::nullopt;
  }
  if (o.new_body) {
    if (auto ec = mf.adopt_body(*o.new_body)) {
      log::error(log::name(ev::spool_error), fields({{"queue_id", mf.id()}, {"error", ec.message()}}));
      co_return store_failed(ec);
    }
    content.body_size = mf.body_size();
  }
  if (o.envelope_changed) {
    d.sender = std::move(o.sender);
    d.recipients = std::move(o.recipients);
    if (d.recipients.empty()) d.discarded = true;  // every recipient removed: nothing to deliver
  }
  if (!o.quarantine.empty() && deps_.hold_message) {
    d.quarantined = o.quarantine;  // held in the queue once spooled (before the runner sees it)
  } else if (!o.quarantine.empty() || o.spam) {
    d.folder = "Junk";
  }
  co_return std::nullopt;
}

asio::awaitable<std::optional<cleanup_outcome>> cleanup::authenticate(const session& sess, message_content& content,
                                                                      const std::string& queue_id, draft& d) {
  auto* checker = deps_.inbound;
  if (!checker) co_return std::nullopt;
  inbound_message im{client_.client_ip, sess.helo(),        d.sender,         &d.recipients,
                     queue_id,          client_.session_id, sess.auth_user(), client_.trusted};
  im.role_only = sess.current_transaction().role_only && !d.recipients.empty();
  if (!sess.auth_user().empty()) {
    // Submission: header From: must be the user's own (550 5.7.1), then DKIM-signed.
    inbound_verdict v = co_await checker->submit(ex_, im, content);
    if (v.action == inbound_verdict::kind::reject) co_return refused(v.code, v.enhanced, v.text, v.rule);
  } else if (client_.kind == listener_kind::mx) {
    if (im.trusted) co_await checker->submit(ex_, im, content);  // trusted: signed
    inbound_verdict v = co_await checker->check(ex_, im, content);
    if (v.action == inbound_verdict::kind::reject || v.action == inbound_verdict::kind::tempfail)
      co_return refused(v.code, v.enhanced, v.text, v.rule);
    if (v.action == inbound_verdict::kind::quarantine) d.folder = v.folder;
  }
  co_return std::nullopt;
}

asio::awaitable<cleanup_outcome> cleanup::store(const session& sess, queue::message_file& mf, message_content& content,
                                                draft& d) {
  using steady = std::chrono::steady_clock;
  const auto& tx = sess.current_transaction();
  const std::string& queue_id = mf.id();
  if (deps_.cfg->queue.discard) {  // the benchmark's null backend: `config check` reports it as critical
    log::warning(log::name(ev::discarded), fields({{"queue_id", queue_id},
                                                   {"size", content.head.size() + content.body_size},
                                                   {"from", tx.sender},
                                                   {"rcpts", tx.recipients.size()}}));
    cleanup_outcome o;
    o.queue_id = queue_id;
    co_return o;
  }
  queue::envelope env;
  env.id = queue_id;
  env.sender = d.sender;
  for (const auto& r : d.recipients) {
    queue::recipient q{r, {}, {}};
    // Reached through an alias (issue 20): the alias is its ORCPT, and delivery rewrites the sender with SRS.
    for (const auto& [target, alias] : tx.forwarded)
      if (target == r) q.orcpt = alias;
    env.recipients.push_back(std::move(q));
  }
  env.received_at =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  env.session_id = client_.session_id;
  env.client_ip = client_.client_ip;
  env.client_port = client_.client_port;
  env.helo = sess.helo();
  env.listener = listener_name(client_.kind);
  env.auth_user = sess.auth_user();
  if (sess.tls_active()) env.tls = std::string(client_.tls_version) + " " + std::string(client_.tls_cipher);
  env.body_type = tx.eight_bit_mime ? "8BITMIME" : "7BIT";
  env.smtputf8 = tx.smtputf8;
  env.folder = std::move(d.folder);
  // Our Received: field goes in front of the header section as the filters and checks left it.
  std::string head = sess.received_header(queue_id, env.received_at);
  head += content.head;
  content.head.clear();
  content.head.shrink_to_fit();
  const std::uint64_t size = head.size() + content.body_size;
  auto* sp = deps_.spool;
  // Wait for the commit thread: it completes `done` on its own thread, which posts back to this connection's
  // executor and wakes the coroutine by cancelling a timer (no shared state raced).
  struct waiter {
    explicit waiter(asio::any_io_executor e) : timer(std::move(e), steady::time_point::max()) {}
    asio::steady_timer timer;
    std::error_code ec;
    std::string id;
    bool done = false;
  };
  auto w = std::make_shared<waiter>(ex_);
  auto done = [w](std::error_code e, const std::string& qid) {
    asio::post(w->timer.get_executor(), [w, e, qid] {
      w->ec = e;
      w->id = qid;
      w->done = true;
      w->timer.cancel();
    });
  };
  if (mf.on_disk()) {
    // The body is in tmp/<id> already: write the envelope and head in front of it, then commit.
    if (auto ec = mf.write_queue_file(env, head)) {
      done(ec, queue_id);
    } else {
      mf.release();  // the spool owns the file now (renamed into active/, or removed on failure)
      sp->commit_async(queue_id, done);
    }
  } else {
    head += mf.body_in_memory();
    sp->store_async(std::move(env), std::move(head), done);
  }
  while (!w->done) co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (w->ec) {
    log::error(log::name(ev::spool_error), fields({{"queue_id", queue_id}, {"error", w->ec.message()}}));
    co_return store_failed(w->ec);
  }
  auto f = fields({{"queue_id", w->id}, {"size", size}, {"from", d.sender}, {"rcpts", d.recipients.size()}});
  if (!sess.auth_user().empty()) f["user"] = sess.auth_user();
  log::info(log::name(ev::queued), std::move(f));
  if (deps_.on_queued) deps_.on_queued();
  cleanup_outcome o;
  o.queue_id = w->id;
  co_return o;
}

}  // namespace mailfort::smtp
