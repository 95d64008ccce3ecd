// The tokenizer: CPython 3.11's tokenize.py (`_tokenize`) re-expressed over the decoded
// UTF-8 text in place, token for token, plus the checks CPython's C tokenizer makes
// when compiling (unterminated strings, bracket nesting and matching, tabs,
// indentation levels, invalid characters), reported as the first syntax error. An
// all-ASCII line is matched byte by byte; a line with other characters is decoded
// into a line-sized scratch buffer, so columns count characters as tokenize.py's do.
// Every token goes to an optional observer in batches (tokens.jsonl is written from
// there, never held whole); only the significant ones are kept. Knows nothing of
// passes.
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
  uint32_t off, len;               // the token's string: bytes of the decoded UTF-8 text
};

// Receives every token tokenize.py would yield, in order, a batch at a time (ENCODING
// first, its string left to the observer).
class TokenObserver {
public:
  virtual ~TokenObserver() = default;
  virtual void tokens(const Token *batch, size_t n) = 0;
};

struct SyntaxIssue {
  std::string message;
  long line = 0, col = 0; // as CPython's SyntaxError: lineno, offset (1-based)
  bool present() const { return !message.empty(); }
};

struct TokenizeResult {
  // The significant tokens (no ENCODING, COMMENT or NL), ENDMARKER last when
  // tokenize.py succeeds; the comments apart.
  std::vector<Token> tokens;
  std::vector<Token> comments;
  SyntaxIssue tokenize_error; // what makes tokenize.tokenize raise (stream then incomplete)
  SyntaxIssue syntax_error;   // the first error CPython's compiler reports, if any
};

struct TokenizeLimits {
  uint32_t max_depth = 200;
  std::function<bool()> interrupted; // cancel flag or wall time; polled in loops
  TokenObserver *observer = nullptr;  // sees the whole stream, if set
};

// Returns false only when interrupted. `text` is valid UTF-8 below 4 GiB.
bool tokenize(std::string_view text, TokenizeLimits const &limits, TokenizeResult &out);

} // namespace weir
