// Stop strings for streamed text: generated pieces go in, the text that may be shown comes out.
// Text that could be the start of a stop string is held back until it is known not to be one,
// and a stop string itself (and everything after it) is never returned — what clients of the
// OpenAI API expect ("stop text not returned"), even when the stop string spans several tokens.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace unicorn::text {

class StopFilter {
  public:
    explicit StopFilter(std::vector<std::string> stops);

    // Appends a piece; returns the text now safe to emit (possibly empty). Once a stop string
    // has appeared, returns what preceded it and then only empty strings.
    std::string push(std::string_view piece);
    // The held-back tail, when generation ends without a stop string.
    std::string flush();
    bool stopped() const { return stopped_; }

  private:
    std::vector<std::string> stops_;
    std::string held_;
    bool stopped_ = false;
};

}  // namespace unicorn::text
