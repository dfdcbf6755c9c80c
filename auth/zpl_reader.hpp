#pragma once
// A reader for ZPL (ZeroMQ RFC 4), the text format of CZMQ's zconfig and zcert files.
#include <string>
#include <string_view>
#include <vector>

namespace zrelay::auth {

struct ZplNode {
  std::string name;
  std::string value;  // empty for a section line without '='
  int line = 0;       // 1-based line in the source; 0 for the root
  std::vector<ZplNode> children;

  // The first child called `name`, or nullptr.
  [[nodiscard]] const ZplNode* child(std::string_view child_name) const;
  [[nodiscard]] std::size_t count(std::string_view child_name) const;
};

class ZplReader {
 public:
  // `source` names the text in error messages, e.g. the file path.
  explicit ZplReader(std::string source) : source_(std::move(source)) {}

  // Parses a whole ZPL text; throws Error(ErrorCode::certificate) naming source and line.
  [[nodiscard]] ZplNode parse(std::string_view text) const;

  [[nodiscard]] static bool is_name_char(char c) noexcept;

 private:
  void parse_line(std::string_view line, int number, std::vector<ZplNode*>& open) const;
  [[nodiscard]] std::string parse_value(std::string_view rest, int number) const;
  void expect_end(std::string_view rest, int number) const;
  [[noreturn]] void fail(int number, const std::string& message) const;

  std::string source_;
};

}  // namespace zrelay::auth
