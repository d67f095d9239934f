#include "broker/redis_endpoint.hpp"

#include <gtest/gtest.h>

namespace eventnode::core {
namespace {

TEST(Unit, RedisUrlsGiveHostPortPasswordAndDatabase) {
  std::string error;
  const auto full = parseRedisUrl("redis://:s3cret@10.0.0.5:6380/2", error);
  ASSERT_TRUE(full) << error;
  EXPECT_EQ(full->host, "10.0.0.5");
  EXPECT_EQ(full->port, 6380);
  EXPECT_EQ(full->password, "s3cret");
  EXPECT_EQ(full->db, 2);
  EXPECT_EQ(full->display(), "redis://10.0.0.5:6380/2") << "the password is never shown";
  const auto plain = parseRedisUrl("redis://cache", error);
  ASSERT_TRUE(plain) << error;
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(plain->db, 0);
  const auto acl_user = parseRedisUrl("redis://default:pw@cache:7000", error);
  ASSERT_TRUE(acl_user) << error;
  EXPECT_EQ(acl_user->password, "pw");
}

TEST(Unit, BadRedisUrlsAreRefusedWithTheReason) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"http://cache:6379", "not a redis:// URL"},
      {"rediss://cache:6379", "TLS is not supported"},
      {"redis://cache:0", "port '0'"},
      {"redis://cache:99999", "port '99999'"},
      {"redis://cache:abc", "port 'abc'"},
      {"redis://cache:6379/16", "database '16'"},
      {"redis://:6379", "has no host"},
  };
  for (const auto& [url, expected] : cases) {
    std::string error;
    EXPECT_FALSE(parseRedisUrl(url, error)) << url;
    EXPECT_NE(error.find(expected), std::string::npos) << url << ": " << error;
  }
}

}  // namespace
}  // namespace eventnode::core
