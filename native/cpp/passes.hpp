// The passes: each renders one artifact from the front end's results (decoded text,
// tokens, structure) into a Sink. They never touch the file system themselves.
// tokens.jsonl is written while the tokenizer runs, by a TokenWriter observing it.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "structure.hpp"
#include "tokenizer.hpp"

namespace weir {

// Where a pass writes its artifact: hashed and counted by the pipeline as written.
class Sink {
public:
  virtual ~Sink() = default;
  virtual void write(const char *p, size_t n) = 0;
  void write(const std::string &s) { write(s.data(), s.size()); }
};

struct Unit {
  const Decoded &source;
  const std::vector<Token> &tokens;   // the significant tokens
  const std::vector<Token> &comments; // the COMMENT tokens
  const Structure &structure;
  std::function<bool()> interrupted; // polled inside long loops
};

struct Interrupted {}; // thrown by a pass when `interrupted` says so

// tokens.jsonl: formats each token tokenize.py yields as one JSON line into a fixed
// buffer, flushed to the sink when full. Per batch it polls `interrupted` and adds
// the time it spent to `micros`.
class TokenWriter : public TokenObserver {
public:
  TokenWriter(std::string_view text, const std::string &encoding, Sink &out,
              std::function<bool()> interrupted);
  void tokens(const Token *batch, size_t n) override;
  void finish(); // writes what is buffered
  long long micros() const { return micros_; }

private:
  void line(const Token &t);
  void flush();
  std::string_view text_;
  const std::string &encoding_;
  Sink &out_;
  std::function<bool()> interrupted_;
  std::unique_ptr<char[]> buf_;
  size_t used_ = 0;
  long long micros_ = 0;
};

void write_outline(const Unit &u, Sink &out);
void write_metrics(const Unit &u, Sink &out);
void write_stripped(const Unit &u, bool docstrings, bool comments, Sink &out);
void write_callgraph(const Unit &u, Sink &out);

} // namespace weir
