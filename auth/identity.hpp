#pragma once
// Who an authorized key is: what authorization rules and logs know of a client.
#include <string>
#include <utility>
#include <vector>

namespace zrelay::auth {

struct Identity {
  std::string key;   // CURVE public key, Z85
  std::string name;  // the certificate's "name" metadata, else its file name, else the key
  std::vector<std::pair<std::string, std::string>> metadata;
};

}  // namespace zrelay::auth
