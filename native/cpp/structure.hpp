// Structure: a statement-level parse of the token stream (blocks, simple statements,
// definitions with their qualnames and body token ranges, imports, docstrings). It
// reports the indentation errors CPython's parser gives, and has each statement's
// tokens judged by the grammar's recogniser (grammar.hpp), which parses expressions.
//
// The parse streams: it pulls tokens through a TokenWindow, which tokenizes on
// demand and hands tokens whose statements are parsed to a TokenConsumer (the
// passes), then drops them. Memory is the window (about one statement) plus what is
// kept per definition, import and pending docstring, not per token.
#pragma once
#include <deque>
#include <string>
#include <vector>

#include "tokenizer.hpp"

namespace weir {

struct Definition {
  const char *kind = "function"; // "function" | "async_function" | "class" (static)
  std::string name, qualname;
  long line = 0, end_line = 0;
  std::vector<std::string> decorators; // source text, UTF-8
  bool has_docstring = false;
  std::string docstring; // as ast.get_docstring (cleaned), as a JSON string literal
  int parent = -1;
  // Token indices of the body; body_last is kOpen until the body is parsed.
  static constexpr size_t kOpen = size_t(-1);
  size_t body_first = 0, body_last = kOpen;
};

struct Import {
  bool from = false;
  std::string module; // empty with module_null
  bool module_null = false;
  std::string name, asname; // asname empty: none
  int level = 0;
  long line = 0;
};

// A docstring statement, for the strip pass.
struct DocSite {
  int owner = -1;        // definition index, -1 for the module
  size_t first, last;    // token indices of the statement (parens included)
  size_t next;           // the token after it: ';' or NEWLINE
  bool alone = false;    // the only statement of its body
  bool settled = false;  // `alone` is known: a second statement began, or the body ended
};

// Token indices are absolute indices of the significant tokens.
struct Structure {
  // Deques: they grow a block at a time (no doubling, no copy), and references stay.
  std::deque<Definition> defs;
  std::deque<Import> imports;
  bool has_module_docstring = false;
  std::string module_docstring; // a JSON string literal
  // Docstring sites not yet consumed; docsites[0] is site number docsites_dropped.
  std::deque<DocSite> docsites;
  size_t docsites_dropped = 0;
  SyntaxIssue error;
};

class TokenWindow;

// Receives the significant tokens whose statements are parsed, in order, with the
// comments that precede the next token.
class TokenConsumer {
public:
  virtual ~TokenConsumer() = default;
  // Tokens [from, to) are final; the window still holds from - 1 and everything
  // after. `comments` are the comments before token `to` (all left at the end).
  virtual void consume(TokenWindow &w, size_t from, size_t to,
                       const std::vector<Token> &comments) = 0;
};

// The significant tokens (no ENCODING, COMMENT or NL) by absolute index, tokenized on
// demand, handed to the consumer once the parser has moved past their statement, then
// dropped. Copies them, and the comments apart, out of each step of the stream.
class TokenWindow {
public:
  explicit TokenWindow(TokenStream &stream) : stream_(stream) {}
  // The token at i; past the end, ENDMARKER (the last token when tokenizing succeeded).
  // By value: reading further may move the window's storage.
  Token get(size_t i) {
    size_t k = i - base_;
    if (k < size_) return data_[k];
    return get_slow(i);
  }
  bool exists(size_t i) {
    if (i - base_ < size_) return true;
    fill(i);
    return i - base_ < size_;
  }
  // The parser begins a statement at i: it will not read before it again. Tokens of
  // the statement before go to the consumer in batches.
  void statement(size_t i);
  // Tokenizes the rest; with `consume`, hands every remaining token to the consumer.
  void finish(bool consume);
  // No consumer from now on: tokens are dropped as they come.
  void discard();
  TokenConsumer *consumer = nullptr;

private:
  Token get_slow(size_t i);
  void fill(size_t i);
  bool pull();
  void release(size_t upto, bool all);
  void sync(); // after tokens_ changed
  const Token *data_ = nullptr; // tokens_ as of the last sync, for the fast path
  size_t size_ = 0;
  TokenStream &stream_;
  std::vector<Token> tokens_;   // the significant tokens from base_ on
  std::vector<Token> comments_; // the comments not yet handed over
  size_t base_ = 0;     // the absolute index of tokens_[0]
  size_t consumed_ = 0; // tokens before this went to the consumer
  size_t lag_ = 0;      // the start of the statement before the current one
  bool discard_ = false;
  Token last_{};        // the last token produced, kept when dropping: where the end is
  std::vector<Token> batch_comments_;
};

// Parses; on a structural error fills `error` and leaves the rest partial.
void parse_structure(std::string_view text, TokenWindow &tokens, Structure &out);

// The value of adjacent string literal tokens, as the compiler would make it. False
// when they are not all plain str literals (bytes, f-strings) or use \N{...}.
bool string_value(std::string_view text, const std::vector<Token> &parts, Text &out);

// inspect.cleandoc.
Text cleandoc(const Text &doc);

} // namespace weir
