// The tokenizer: CPython 3.11's tokenize.py (`_tokenize`) re-expressed over the decoded
// UTF-8 text in place, token for token, plus the checks CPython's C tokenizer makes
// when compiling (unterminated strings, bracket nesting and matching, tabs,
// indentation levels, invalid characters), reported as the first syntax error. An
// all-ASCII line is matched byte by byte; a line with other characters is decoded
// into a line-sized scratch buffer, so columns count characters as tokenize.py's do.
// Every token is written once, into a batch that an optional observer reads (tokens.jsonl
// is written from there, never held whole). The stream is pulled a line at a time: after
// each step, fresh() shows the tokens that step produced, until the next step; what
// a consumer keeps of them it copies, so nothing holds the whole token stream. Knows
// nothing of passes.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "text.hpp"

namespace weir {

// Four bytes, not one: a store through a one-byte type may alias anything, so the
// compiler would reload every other field after writing a token's type.
enum class Tok : uint32_t {
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

// Tokens in the stream's batch: readable until the stream's next step.
struct TokenSpan {
  const Token *data = nullptr;
  size_t size = 0;
  const Token *begin() const { return data; }
  const Token *end() const { return data + size; }
};

struct TokenizeResult {
  SyntaxIssue tokenize_error; // what makes tokenize.tokenize raise (stream then incomplete)
  SyntaxIssue syntax_error;   // the first error CPython's compiler reports, if any
};

struct TokenizeLimits {
  uint32_t max_depth = 200;
  std::function<bool()> interrupted; // cancel flag or wall time; polled in loops
  TokenObserver *observer = nullptr;  // sees the whole stream, if set
  // Measure a statement's indentation as the compiler does, across lines of only
  // blanks and a backslash continuation (tokenize.py takes each such line's blanks as
  // its indentation: an INDENT or DEDENT of their own). compiler_text() tells whether
  // a text has such lines, so one stream can serve both where it has none.
  bool compiler_indents = false;
};

class TokenizerImpl;

// The tokenizer over `text` (valid UTF-8 below 4 GiB), run a line at a time. `limits`
// and `out` must outlive it.
class TokenStream {
public:
  TokenStream(std::string_view text, const TokenizeLimits &limits, TokenizeResult &out);
  ~TokenStream();
  // Tokenizes one more line; false once the stream is complete or interrupted. The
  // step that completes it (false, done()) still produces the last tokens: ENDMARKER
  // when tokenize.py succeeds.
  bool step();
  bool done() const;
  // Every token the last step produced, in order (ENCODING comes before the first).
  TokenSpan fresh() const;

private:
  std::unique_ptr<TokenizerImpl> impl_;
};

} // namespace weir
