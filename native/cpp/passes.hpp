// The passes: each renders one artifact from the front end's results into a Sink.
// They never touch the file system themselves. tokens.jsonl is written while the
// tokenizer runs, by a TokenWriter observing it; metrics, strip and callgraph consume
// the significant tokens as the statement parse hands them over (TokenPasses), keeping
// only per-line-frontier, per-definition and per-call state; outline reads the
// structure alone.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

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

void write_outline(const Structure &s, Sink &out);

struct MetricsState;
struct CallgraphState;
struct StripState;

// metrics, callgraph and strip over the token stream. Each is enabled on its own;
// strip writes stripped.py as it goes (the caller discards the file if the compile
// fails), the other two write at the end. Times are per pass, in microseconds.
class TokenPasses : public TokenConsumer {
public:
  TokenPasses(const Decoded &source, Structure &s, std::function<bool()> interrupted);
  ~TokenPasses() override;
  void enable_metrics();
  void enable_callgraph();
  void enable_strip(bool docstrings, bool comments, Sink &out);
  void consume(TokenWindow &w, size_t from, size_t to,
               const std::vector<Token> &comments) override;
  void write_metrics(Sink &out);
  void write_callgraph(Sink &out);
  void finish_strip();
  long long metrics_us = 0, callgraph_us = 0, strip_us = 0;

private:
  int owner(size_t i); // the innermost definition whose body holds token i, or -1
  void close(int def); // pops `def`, the innermost open definition
  void forget_closed();
  std::vector<int> closed_; // definitions closed during the current batch
  void consume_metrics(TokenWindow &w, size_t from, size_t to,
                       const std::vector<Token> &comments);
  void consume_callgraph(TokenWindow &w, size_t from, size_t to);
  void consume_strip(TokenWindow &w, size_t from, size_t to, const std::vector<Token> &comments);
  void drop_docsites(size_t to);
  const Decoded &source_;
  Structure &s_; // its docstring sites are dropped here once consumed
  std::function<bool()> interrupted_;
  size_t next_open_ = 0;      // the first definition not yet seen open
  std::vector<int> open_;     // the definitions open at the last token asked about
  std::vector<int> owners_;   // per token of the batch
  std::unique_ptr<MetricsState> metrics_;
  std::unique_ptr<CallgraphState> callgraph_;
  std::unique_ptr<StripState> strip_;
};

} // namespace weir
