#pragma once
// Everything zrelay-broker is told by its config file and command line, before keys are loaded.
#include <string>
#include <vector>

#include <zrelay/broker_options.hpp>

namespace zrelay::broker {

struct BrokerConfig {
  BrokerOptions options;                 // keys are filled in later from the paths below
  std::string state_dir;                 // embedded defaults: keys generated here
  std::string data_dir;                  // the store of durable groups (default: data/ in the state directory)
  std::string certificate;               // the broker's certificate (NAME with NAME_secret)
  std::string authorized_keys;           // directory of allowed clients' public certificates
  std::vector<std::string> group_specs;  // --group NAME[:MAX_COUNT[:MAX_CONSUMABLES[:POLICY]]]
  std::string log_level = "info";
  std::vector<std::string> admins;       // --admin: clients given the stats right
};

}  // namespace zrelay::broker
