// tests/unit/queue/runner_test.cpp: the scheduler with a scripted remote transport: retry after 4xx with the
// state persisted, 5xx -> DSN to the local sender's Maildir, no DSN for the null sender, concurrency limits.
// SPDX-License-Identifier: MIT
#include "queue/runner.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

using namespace mailfort::queue;
namespace fs = std::filesystem;

namespace {

class scripted final : public remote_transport {
 public:
  // Each call pops one result kind for every recipient of the job (the last one repeats).
  explicit scripted(std::deque<remote_result::kind> script) : script_(std::move(script)) {}
  void submit(remote_job job, done_fn done) override {
    remote_result::kind k;
    {
      std::lock_guard lk(mu_);
      k = script_.size() > 1 ? script_.front() : script_.back();
      if (script_.size() > 1) script_.pop_front();
      ++calls_;
      jobs_.push_back(job.domain);
    }
    std::vector<remote_result> out;
    for (std::size_t i = 0; i < job.recipients.size(); ++i) {
      remote_result r;
      r.k = k;
      r.code = k == remote_result::kind::perm ? "5.1.1" : k == remote_result::kind::temp ? "4.3.0" : "2.0.0";
      r.reason = k == remote_result::kind::perm ? "550 5.1.1 no such user" : "451 4.3.0 later";
      r.relay = "mx.example.net[192.0.2.1]:25";
      r.remote = true;
      out.push_back(r);
    }
    done(std::move(out));
  }
  int calls() {
    std::lock_guard lk(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::deque<remote_result::kind> script_;
  int calls_ = 0;
  std::vector<std::string> jobs_;
};

struct fixture {
  fs::path dir;
  fixture() {
    dir = fs::temp_directory_path() / ("mf-runner-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir);
  }
  ~fixture() { fs::remove_all(dir); }
};

envelope env_to(std::vector<std::string> rcpts, std::string sender = "alice@localhost") {
  envelope e;
  e.sender = std::move(sender);
  for (auto& r : rcpts) e.recipients.push_back(recipient{r});
  e.received_at = static_cast<std::int64_t>(std::time(nullptr));
  e.body_type = "7BIT";
  return e;
}

template <class F>
bool wait_for(F f, int ms = 10000) {
  for (int i = 0; i < ms / 10; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return f();
}

std::size_t files_in(const fs::path& d) {
  if (!fs::is_directory(d)) return 0;
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(d), fs::directory_iterator()));
}

bool is_local(const std::string& d) { return d == "localhost"; }

runner_settings fast() {
  runner_settings rs;
  rs.retry.min_s = 1;
  rs.retry.max_s = 1;
  rs.retry.jitter = 0;
  return rs;
}

}  // namespace

TEST(Runner, TemporaryFailureIsRetriedAndRecorded) {
  fixture fx;
  spool sp(fx.dir / "queue");
  sp.start();
  scripted t({remote_result::kind::temp, remote_result::kind::delivered});
  auto id = sp.store(env_to({"bob@example.net"}), "Subject: x\r\n\r\nhi\r\n");
  runner r(sp, fx.dir / "mail", is_local, &t, fast());
  r.start();
  ASSERT_TRUE(wait_for([&] { return t.calls() >= 1; }));
  // After the first (temporary) failure the file records it.
  ASSERT_TRUE(wait_for([&] {
                std::ifstream in(sp.path_of(id), std::ios::binary);
                std::stringstream ss;
                ss << in.rdbuf();
                auto d = decode(ss.str());
                return d.error == decode_error::ok && d.env.recipients[0].attempts == 1 &&
                       d.env.recipients[0].last_error == "451 4.3.0 later";
              }) ||
              t.calls() >= 2);
  ASSERT_TRUE(wait_for([&] { return sp.list().empty(); }));
  EXPECT_EQ(t.calls(), 2);
  r.stop();
  sp.stop();
}

TEST(Runner, PermanentFailureBouncesToLocalSender) {
  fixture fx;
  spool sp(fx.dir / "queue");
  sp.start();
  scripted t({remote_result::kind::perm});
  sp.store(env_to({"nobody@example.net"}), "Subject: bounce me\r\n\r\nbody\r\n");
  runner r(sp, fx.dir / "mail", is_local, &t, fast());
  r.start();
  ASSERT_TRUE(wait_for([&] { return files_in(fx.dir / "mail" / "localhost" / "alice" / "new") == 1; }));
  ASSERT_TRUE(wait_for([&] { return sp.list().empty(); }));
  auto f = fs::directory_iterator(fx.dir / "mail" / "localhost" / "alice" / "new")->path();
  std::ifstream in(f, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(ss.str().find("Final-Recipient: rfc822; nobody@example.net"), std::string::npos);
  EXPECT_NE(ss.str().find("Subject: bounce me"), std::string::npos);
  r.stop();
  sp.stop();
}

TEST(Runner, NullSenderGetsNoBounce) {
  fixture fx;
  spool sp(fx.dir / "queue");
  sp.start();
  scripted t({remote_result::kind::perm});
  sp.store(env_to({"nobody@example.net"}, ""), "Subject: x\r\n\r\nbody\r\n");
  runner r(sp, fx.dir / "mail", is_local, &t, fast());
  r.start();
  ASSERT_TRUE(wait_for([&] { return sp.list().empty() && t.calls() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(sp.list().empty());
  EXPECT_EQ(files_in(fx.dir / "mail"), 0u);
  r.stop();
  sp.stop();
}

TEST(Runner, ExpiredMessageFailsWithoutAnAttempt) {
  fixture fx;
  spool sp(fx.dir / "queue");
  sp.start();
  scripted t({remote_result::kind::delivered});
  auto e = env_to({"bob@example.net"});
  e.received_at -= 6 * 86400;  // older than the 5-day lifetime
  sp.store(e, "Subject: old\r\n\r\nbody\r\n");
  runner r(sp, fx.dir / "mail", is_local, &t, fast());
  r.start();
  ASSERT_TRUE(wait_for([&] { return files_in(fx.dir / "mail" / "localhost" / "alice" / "new") == 1; }));
  EXPECT_EQ(t.calls(), 0);
  r.stop();
  sp.stop();
}

TEST(Runner, WithoutTransportRemoteRecipientsStayQueued) {
  fixture fx;
  spool sp(fx.dir / "queue");
  sp.start();
  sp.store(env_to({"bob@example.net", "carol@localhost"}), "Subject: mixed\r\n\r\nbody\r\n");
  runner r(sp, fx.dir / "mail", is_local);
  r.run_once();
  EXPECT_EQ(files_in(fx.dir / "mail" / "localhost" / "carol" / "new"), 1u);
  ASSERT_EQ(sp.list().size(), 1u);
  sp.stop();
}

namespace {
// Holds every job until release(): lets a test see how many deliveries are in flight at once.
class holding final : public remote_transport {
 public:
  void submit(remote_job job, done_fn done) override {
    std::lock_guard lk(mu_);
    pending_.push_back({std::move(job), std::move(done)});
    max_in_flight_ = std::max(max_in_flight_, pending_.size());
  }
  std::size_t in_flight() {
    std::lock_guard lk(mu_);
    return pending_.size();
  }
  std::size_t max_in_flight() {
    std::lock_guard lk(mu_);
    return max_in_flight_;
  }
  void release_one() {
    std::pair<remote_job, done_fn> p;
    {
      std::lock_guard lk(mu_);
      if (pending_.empty()) return;
      p = std::move(pending_.front());
      pending_.pop_front();
    }
    std::vector<remote_result> ok(p.first.recipients.size());
    for (auto& r : ok) r.k = remote_result::kind::delivered;
    p.second(std::move(ok));
  }

 private:
  std::mutex mu_;
  std::deque<std::pair<remote_job, done_fn>> pending_;
  std::size_t max_in_flight_ = 0;
};
}  // namespace

TEST(Runner, PerDomainConcurrencyLimit) {
  fixture fx;
  spool sp(fx.dir / "queue");
  sp.start();
  holding t;
  for (int i = 0; i < 3; ++i) sp.store(env_to({"bob@example.net"}), "Subject: x\r\n\r\nhi\r\n");
  sp.store(env_to({"carol@other.example"}), "Subject: y\r\n\r\nhi\r\n");
  auto rs = fast();
  rs.max_connections_per_domain = 1;
  runner r(sp, fx.dir / "mail", is_local, &t, rs);
  r.start();
  // One for example.net, one for other.example: the other two example.net messages wait.
  ASSERT_TRUE(wait_for([&] { return t.in_flight() == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(t.in_flight(), 2u);
  for (int i = 0; i < 10 && !sp.list().empty(); ++i) {
    t.release_one();
    wait_for([&] { return t.in_flight() > 0 || sp.list().empty(); }, 2000);
  }
  ASSERT_TRUE(wait_for([&] { return sp.list().empty(); }));
  EXPECT_EQ(t.max_in_flight(), 2u);
  r.stop();
  sp.stop();
}
