// The tokenizer: CPython 3.11's tokenize.py (`_tokenize`) re-expressed over decoded
// text, token for token, plus the checks CPython's C tokenizer makes when compiling
// (unterminated strings, bracket nesting and matching, tabs, indentation levels,
// invalid characters), reported as the first syntax error. Knows nothing of passes.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "text.hpp"

namespace weir {

enum class Tok : uint8_t {
  ENDMARKER, NAME, NUMBER, STRING, NEWLINE, INDENT, DEDENT, OP, ERRORTOKEN, COMMENT, NL,
  ENCODING
};
const char *tok_name(Tok t);

struct Token {
  Tok type;
  uint32_t srow, scol, erow, ecol; // as tokenize.py: rows 1-based, columns in characters
  size_t off, len;                 // the token's string: a slice of the decoded text
};

struct SyntaxIssue {
  std::string message;
  long line = 0, col = 0; // as CPython's SyntaxError: lineno, offset (1-based)
  bool present() const { return !message.empty(); }
};

struct TokenizeResult {
  std::vector<Token> tokens; // ENCODING first, ENDMARKER last when tokenize.py succeeds
  SyntaxIssue tokenize_error; // what makes tokenize.tokenize raise (stream then incomplete)
  SyntaxIssue syntax_error;   // the first error CPython's compiler reports, if any
};

struct TokenizeLimits {
  uint32_t max_depth = 200;
  std::function<bool()> interrupted; // cancel flag or wall time; polled in loops
};

// Returns false only when interrupted.
bool tokenize(const Text &text, TokenizeLimits const &limits, TokenizeResult &out);

} // namespace weir
