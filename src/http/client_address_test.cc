#include "http/client_address.h"

#include <gtest/gtest.h>

#include <string>

namespace vs::http {
namespace {

Request From(std::string peer, std::string forwarded_for) {
  Request r;
  r.remote_addr = std::move(peer);
  if (!forwarded_for.empty()) r.headers.Set("X-Forwarded-For", std::move(forwarded_for));
  return r;
}

TEST(ClientAddressTest, UsesForwardedForOnlyWhenTrusted) {
  const Request r = From("10.0.0.1", " 203.0.113.7 , 10.0.0.1");
  EXPECT_EQ(ClientAddress(r, false), "10.0.0.1");
  EXPECT_EQ(ClientAddress(r, true), "203.0.113.7");
}

TEST(ClientAddressTest, FallsBackToThePeerWhenTheHeaderIsUnusable) {
  EXPECT_EQ(ClientAddress(From("10.0.0.1", ""), true), "10.0.0.1");
  EXPECT_EQ(ClientAddress(From("10.0.0.1", " , 203.0.113.7"), true), "10.0.0.1");
  EXPECT_EQ(ClientAddress(From("10.0.0.1", std::string(64, 'a')), true), "10.0.0.1");
  EXPECT_EQ(ClientAddress(From("10.0.0.1", std::string(63, 'a')), true), std::string(63, 'a'));
  EXPECT_EQ(ClientAddress(From("10.0.0.1", "2001:db8::1"), true), "2001:db8::1");
}

}  // namespace
}  // namespace vs::http
