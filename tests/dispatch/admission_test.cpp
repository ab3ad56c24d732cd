// Admission: the global and per-source limits, the fair share once the slots run short,
// and slots coming back when tickets go away.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "admission.hpp"

namespace sessnic::dispatch {
namespace {
using V = Admission::Verdict;

TEST(DispatchAdmission, PerSourceAndGlobalLimits) {
  auto a = Admission::create(10, 3);
  std::vector<Admission::Ticket> held(12);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(a->admit("10.0.0.1", held[i]), V::admitted);
  Admission::Ticket t;
  EXPECT_EQ(a->admit("10.0.0.1", t), V::source_limit);
  EXPECT_FALSE(t);
  EXPECT_EQ(a->open_from("10.0.0.1"), 3u);
  held[0] = {};  // one closes: that source may open one again
  EXPECT_EQ(a->admit("10.0.0.1", held[0]), V::admitted);
  EXPECT_EQ(a->open(), 3u);
}

TEST(DispatchAdmission, HeavySourcesCannotFillTheRest) {
  // 100 slots, 60 per source: two heavy sources could take them all without the fair share.
  auto a = Admission::create(100, 60);
  std::vector<Admission::Ticket> x(60), y(60);
  size_t got_x = 0, got_y = 0;
  for (auto& t : x) got_x += a->admit("10.0.0.1", t) == V::admitted;
  for (auto& t : y) got_y += a->admit("10.0.0.2", t) == V::admitted;
  EXPECT_EQ(got_x, 60u);
  EXPECT_LT(got_y, 40u);  // past 3/4 of the slots the second source stops at its share
  // Newcomers still get in, up to the global limit.
  std::vector<Admission::Ticket> others(40);
  size_t got_others = 0;
  for (size_t i = 0; i < others.size(); ++i)
    got_others += a->admit("10.0.1." + std::to_string(i), others[i]) == V::admitted;
  EXPECT_EQ(got_others, 100 - got_x - got_y);
  EXPECT_GT(got_others, 0u);
  EXPECT_EQ(a->open(), 100u);
  Admission::Ticket t;
  EXPECT_EQ(a->admit("10.0.2.1", t), V::connection_limit);
  x.clear();
  y.clear();
  others.clear();
  EXPECT_EQ(a->open(), 0u);
}

}  // namespace
}  // namespace sessnic::dispatch
