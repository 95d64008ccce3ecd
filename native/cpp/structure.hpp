// Structure: a statement-level parse of the token stream (blocks, simple statements,
// definitions with their qualnames, imports, docstrings and which definition owns each
// token). It does not parse expressions and does not judge grammar beyond what
// statement structure needs; it reports the indentation errors CPython's parser gives.
#pragma once
#include <string>
#include <vector>

#include "tokenizer.hpp"

namespace weir {

struct Definition {
  std::string kind; // "function" | "async_function" | "class"
  std::string name, qualname;
  long line = 0, end_line = 0;
  std::vector<std::string> decorators; // source text, UTF-8
  bool has_docstring = false;
  Text docstring; // as ast.get_docstring (cleaned)
  int parent = -1;
  size_t body_first = 0, body_last = 0; // token indices of the body
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
};

// Token indices are into TokenizeResult::tokens, the significant tokens.
struct Structure {
  std::vector<Definition> defs;
  std::vector<Import> imports;
  bool has_module_docstring = false;
  Text module_docstring;
  std::vector<DocSite> docsites;
  std::vector<int> owner; // per token: the innermost definition, -1 module
  SyntaxIssue error;
};

// Parses; on a structural error fills `error` and leaves the rest partial.
void parse_structure(std::string_view text, const std::vector<Token> &tokens, Structure &out);

// The value of adjacent string literal tokens, as the compiler would make it. False
// when they are not all plain str literals (bytes, f-strings) or use \N{...}.
bool string_value(std::string_view text, const std::vector<const Token *> &parts, Text &out);

// inspect.cleandoc.
Text cleandoc(const Text &doc);

} // namespace weir
