#include "rfc3339.hpp"

#include <gtest/gtest.h>

namespace eventnode::plugins::meter {
namespace {

TEST(Rfc3339, ReadsUtcOffsetsAndFractions) {
  EXPECT_EQ(parseRfc3339Millis("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parseRfc3339Millis("2026-12-05T10:15:00Z"), 1796465700000);
  EXPECT_EQ(parseRfc3339Millis("2026-12-05T10:15:00.25Z"), 1796465700250);
  EXPECT_EQ(parseRfc3339Millis("2026-12-05T11:15:00+01:00"), 1796465700000);
  EXPECT_EQ(parseRfc3339Millis("2026-12-05T09:45:00.123456789-00:30"), 1796465700123);
}

TEST(Rfc3339, RefusesWhatIsNotATime) {
  for (const char* bad : {"", "2026-12-05", "2026-12-05T10:15:00", "2026-02-30T00:00:00Z", "2026-12-05T25:00:00Z",
                          "2026-12-05T10:15:00.Z", "2026-12-05T10:15:00Zjunk", "1796465700", "2026-12-05 10:15:00+1"}) {
    EXPECT_FALSE(parseRfc3339Millis(bad).has_value()) << bad;
  }
}

TEST(Rfc3339, FormatsUtcWithMillisecondsOnlyWhenThereAreAny) {
  EXPECT_EQ(formatRfc3339Millis(1796465700000), "2026-12-05T10:15:00Z");
  EXPECT_EQ(formatRfc3339Millis(1796465700250), "2026-12-05T10:15:00.250Z");
  EXPECT_EQ(parseRfc3339Millis(formatRfc3339Millis(1796465700007)), 1796465700007);
}

}  // namespace
}  // namespace eventnode::plugins::meter
