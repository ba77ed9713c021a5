#include "redis/client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "redis/connection.h"
#include "redis_server.h"

namespace vs::redis {
namespace {

TEST(ParseRedisUrlTest, HostOnlyTakesDefaults) {
  auto r = ParseRedisUrl("redis://cache.internal");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->host, "cache.internal");
  EXPECT_EQ(r->port, 6379);
  EXPECT_EQ(r->db, 0);
  EXPECT_EQ(r->password, "");
}

TEST(ParseRedisUrlTest, AllParts) {
  auto r = ParseRedisUrl("redis://:s%40cr%3At@10.0.0.7:6380/3");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->host, "10.0.0.7");
  EXPECT_EQ(r->port, 6380);
  EXPECT_EQ(r->db, 3);
  EXPECT_EQ(r->password, "s@cr:t");
}

TEST(ParseRedisUrlTest, AclUserIsIgnoredAndIpv6Works) {
  auto r = ParseRedisUrl("redis://app:pw@[::1]:7000/");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->host, "::1");
  EXPECT_EQ(r->port, 7000);
  EXPECT_EQ(r->db, 0);
  EXPECT_EQ(r->password, "pw");
}

TEST(ParseRedisUrlTest, RejectsMalformedUrls) {
  for (const char* url :
       {"", "localhost:6379", "http://localhost", "rediss://localhost", "redis://", "redis://:pw@",
        "redis://host:", "redis://host:0", "redis://host:65536", "redis://host:port",
        "redis://host/db", "redis://host/-1", "redis://user@host", "redis://:bad%zzescape@host",
        "redis://:trunc%4@host", "redis://[::1", "redis://[::1]x", "redis://host?timeout=1"}) {
    auto r = ParseRedisUrl(url);
    ASSERT_FALSE(r.ok()) << "accepted: " << url;
    EXPECT_EQ(r.error().code, "invalid_config") << url;
  }
}

TEST(RedisScriptTest, Sha1IsWhatRedisComputes) {
  // SCRIPT LOAD "return 1" answers this digest.
  EXPECT_EQ(Script("return 1").sha1(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

TEST(ReconnectDelayTest, DoublesToTheCapWithAFixedHalf) {
  for (int attempt = 1; attempt <= 12; ++attempt) {
    const int64_t full = std::min<int64_t>(2000, int64_t{100} << (attempt - 1));
    for (int i = 0; i < 50; ++i) {
      const int64_t d = ReconnectDelayMs(attempt, 100, 2000);
      EXPECT_GE(d, full / 2) << attempt;
      EXPECT_LE(d, full) << attempt;
    }
  }
  EXPECT_GE(ReconnectDelayMs(1, 0, 0), 1);  // never a busy loop
  EXPECT_LE(ReconnectDelayMs(1000, 100, 2000), 2000);
}

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status s = server().Start();
    ASSERT_TRUE(s.ok()) << s.error().message;
    client_ = std::make_unique<RedisClient>(Options());
    ASSERT_TRUE(client_->Command({"FLUSHALL"}).ok());
  }

  static testing::RedisServer& server() { return testing::SharedRedisServer(); }

  static RedisOptions Options() {
    auto o = ParseRedisUrl(server().url());
    EXPECT_TRUE(o.ok());
    o->connect_timeout_ms = 2000;
    o->command_timeout_ms = 2000;
    return *o;
  }

  // Retries `cmd` until it succeeds (a reconnect may cost a call or two).
  static Result<Reply> Eventually(RedisClient& c, const std::vector<std::string>& cmd) {
    Result<Reply> r = MakeError("none", "no attempt");
    for (int i = 0; i < 200; ++i) {
      r = c.Command(cmd);
      if (r.ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return r;
  }

  std::unique_ptr<RedisClient> client_;
};

TEST_F(RedisClientTest, RepliesOfEveryType) {
  RedisClient& c = *client_;
  const std::string binary("a\0b\r\n", 5);
  auto set = c.Command({"SET", "k", binary});
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_TRUE(set->is_string());
  EXPECT_EQ(set->str, "OK");

  auto get = c.Command({"GET", "k"});
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->str, binary);

  auto missing = c.Command({"GET", "nope"});
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->is_nil());

  auto n = c.Command({"INCRBY", "n", "41"});
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->is_integer());
  EXPECT_EQ(n->integer, 41);

  ASSERT_TRUE(c.Command({"RPUSH", "l", "x", "y"}).ok());
  auto list = c.Command({"LRANGE", "l", "0", "-1"});
  ASSERT_TRUE(list.ok());
  ASSERT_TRUE(list->is_array());
  ASSERT_EQ(list->elements.size(), 2u);
  EXPECT_EQ(list->elements[1].str, "y");

  EXPECT_TRUE(c.Ping().ok());
}

TEST_F(RedisClientTest, ErrorReplyIsAFailedResult) {
  ASSERT_TRUE(client_->Command({"SET", "k", "v"}).ok());
  auto r = client_->Command({"LPUSH", "k", "x"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kRedisError);
  EXPECT_NE(r.error().message.find("WRONGTYPE"), std::string::npos) << r.error().message;
  // The connection stays usable after an error reply.
  EXPECT_TRUE(client_->Command({"GET", "k"}).ok());
}

TEST_F(RedisClientTest, EvalLoadsTheScriptWhenTheServerDoesNotKnowIt) {
  Script script("return {tonumber(ARGV[1]) + 1, KEYS[1], redis.error_reply('nested')}");
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(client_->Command({"SCRIPT", "FLUSH"}).ok());
    for (int i = 0; i < 2; ++i) {  // EVAL, then EVALSHA
      auto r = client_->Eval(script, {"key"}, {"41"});
      ASSERT_TRUE(r.ok()) << r.error().message;
      ASSERT_EQ(r->elements.size(), 3u);
      EXPECT_EQ(r->elements[0].integer, 42);
      EXPECT_EQ(r->elements[1].str, "key");
      EXPECT_EQ(r->elements[2].type, Reply::Type::kError);
      EXPECT_EQ(r->elements[2].str, "ERR nested");  // Redis 7 adds the prefix
    }
    auto exists = client_->Command({"SCRIPT", "EXISTS", script.sha1()});
    ASSERT_TRUE(exists.ok());
    EXPECT_EQ(exists->elements[0].integer, 1);
  }
  auto failing = client_->Eval(Script("return redis.error_reply('nope')"), {}, {});
  ASSERT_FALSE(failing.ok());
  EXPECT_NE(failing.error().message.find("nope"), std::string::npos);
}

TEST_F(RedisClientTest, SelectsTheDatabaseFromTheUrl) {
  auto o = ParseRedisUrl(server().url() + "/5");
  ASSERT_TRUE(o.ok());
  RedisClient db5(*o);
  ASSERT_TRUE(db5.Command({"SET", "where", "five"}).ok());
  EXPECT_TRUE(client_->Command({"GET", "where"})->is_nil());
  EXPECT_EQ(db5.Command({"GET", "where"})->str, "five");
}

TEST_F(RedisClientTest, ConcurrentCommandsShareThePool) {
  constexpr int kThreads = 8;
  constexpr int kCalls = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        if (!client_->Command({"INCR", "counter"}).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(client_->Command({"GET", "counter"})->str, std::to_string(kThreads * kCalls));
}

TEST_F(RedisClientTest, TimeoutIsReportedAndTheConnectionReplaced) {
  RedisOptions o = Options();
  o.command_timeout_ms = 100;
  RedisClient c(o);
  auto r = c.Command({"BLPOP", "empty", "2"});  // blocks this connection for 2 s
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kRedisError);
  EXPECT_NE(r.error().message.find("timed out"), std::string::npos) << r.error().message;
  EXPECT_TRUE(c.Ping().ok());
}

TEST_F(RedisClientTest, ClearErrorWhenNothingListens) {
  RedisOptions o = Options();
  o.port = testing::FreeLoopbackPort();
  RedisClient c(o);
  auto r = c.Command({"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kRedisError);
  EXPECT_NE(r.error().message.find("127.0.0.1:" + std::to_string(o.port)), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("connect"), std::string::npos) << r.error().message;
  // Within the backoff the client answers without trying to connect.
  auto again = c.Command({"PING"});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("unavailable"), std::string::npos) << again.error().message;
}

TEST_F(RedisClientTest, ReconnectsAfterTheServerRestarts) {
  ASSERT_TRUE(client_->Command({"SET", "k", "v"}).ok());
  server().Stop();
  auto down = client_->Command({"GET", "k"});
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code, kRedisError);
  EXPECT_EQ(down.error().kind, ErrorKind::kUnavailable);

  ASSERT_TRUE(server().Start().ok()) << server().Log();
  auto up = Eventually(*client_, {"SET", "k", "again"});
  ASSERT_TRUE(up.ok()) << up.error().message;
  EXPECT_EQ(client_->Command({"GET", "k"})->str, "again");
}

TEST_F(RedisClientTest, IdleConnectionsClosedByTheServerAreNotUsed) {
  ASSERT_TRUE(client_->Ping().ok());  // leaves one idle connection in the pool
  RedisClient killer(Options());
  auto killed = killer.Command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  ASSERT_TRUE(killed.ok()) << killed.error().message;
  EXPECT_GE(killed->integer, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the close arrive
  auto r = client_->Command({"PING"});
  EXPECT_TRUE(r.ok()) << r.error().message;
}

}  // namespace
}  // namespace vs::redis
