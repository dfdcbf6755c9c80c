#include "tools/refusal_report.hpp"

#include <iostream>

namespace zrelay::cli {

void RefusalReport::collect(Endpoint& endpoint) {
  for (const Refusal& refusal : endpoint.take_refusals()) {
    ++count_;
    std::cerr << "zrelay: refused by the broker";
    if (!refusal.group.empty()) std::cerr << ": group '" << refusal.group << "'";
    if (refusal.seq != 0) std::cerr << ", seq " << refusal.seq;
    std::cerr << ": " << to_string(refusal.code);
    if (!refusal.text.empty()) std::cerr << ": " << refusal.text;
    std::cerr << "\n";
  }
}

}  // namespace zrelay::cli
