// Stop strings over streamed pieces: nothing of a stop string is ever emitted, text that only
// looked like its start comes out later, and a stop string split over pieces is caught.
#include "text/stop_filter.h"

#include <gtest/gtest.h>

namespace unicorn::text {
namespace {

std::string run(StopFilter& f, const std::vector<std::string>& pieces) {
    std::string out;
    for (const std::string& p : pieces) out += f.push(p);
    return out + f.flush();
}

TEST(StopFilterTest, NoStopsPassesEverything) {
    StopFilter f({});
    EXPECT_EQ(run(f, {"Hello", ", ", "world"}), "Hello, world");
    EXPECT_FALSE(f.stopped());
}

TEST(StopFilterTest, StopInsideOnePieceCutsThere) {
    StopFilter f({"END"});
    EXPECT_EQ(f.push("abcENDdef"), "abc");
    EXPECT_TRUE(f.stopped());
    EXPECT_EQ(f.push("more"), "");
    EXPECT_EQ(f.flush(), "");
}

TEST(StopFilterTest, StopSplitOverPiecesIsHeldBackAndNeverEmitted) {
    StopFilter f({"\n\nUser:"});
    EXPECT_EQ(f.push("Sure.\n"), "Sure.");
    EXPECT_EQ(f.push("\nUs"), "");
    EXPECT_EQ(f.push("er: hi"), "");
    EXPECT_TRUE(f.stopped());
}

TEST(StopFilterTest, FalseStartComesOutLater) {
    StopFilter f({"STOP"});
    EXPECT_EQ(f.push("a ST"), "a ");
    EXPECT_EQ(f.push("ART"), "START");
    EXPECT_EQ(f.push(" S"), " ");
    EXPECT_EQ(f.flush(), "S");
    EXPECT_FALSE(f.stopped());
}

TEST(StopFilterTest, EarliestOfSeveralStopsWins) {
    StopFilter f({"xyz", "b"});
    EXPECT_EQ(run(f, {"a", "bxyz"}), "a");
    StopFilter g({"", "é"});  // empty stop strings are ignored
    EXPECT_EQ(run(g, {"caf", "\xC3", "\xA9", "!"}), "caf");
}

}  // namespace
}  // namespace unicorn::text
