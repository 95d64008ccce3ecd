// The passes: each renders one artifact from the front end's results (decoded text,
// tokens, structure) into a Sink. They never touch the file system themselves.
#pragma once
#include <functional>
#include <string>

#include "structure.hpp"
#include "tokenizer.hpp"

namespace weir {

// Where a pass writes its artifact: buffered, hashed and counted by the pipeline.
class Sink {
public:
  virtual ~Sink() = default;
  virtual void write(const std::string &chunk) = 0;
};

struct Unit {
  const Decoded &source;
  const std::vector<Token> &tokens;
  const Structure &structure;
  std::function<bool()> interrupted; // polled inside long loops
};

struct Interrupted {}; // thrown by a pass when `interrupted` says so

void write_tokens(const Unit &u, Sink &out);
void write_outline(const Unit &u, Sink &out);
void write_metrics(const Unit &u, Sink &out);
void write_stripped(const Unit &u, bool docstrings, bool comments, Sink &out);
void write_callgraph(const Unit &u, Sink &out);

} // namespace weir
