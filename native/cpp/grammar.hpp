// Grammar: judges a statement's tokens by Python 3.11's grammar (expressions,
// targets in their expression form, parameters, arguments, comprehensions, slices,
// imports, the headers of compound statements, match patterns). The statement parser
// (structure.cpp) finds statements and blocks; this says whether the tokens between
// are a statement CPython would parse, and where it would stop. It builds nothing:
// no tree, no values. It does not check what CPython checks after parsing (targets
// that cannot be assigned, `return` outside a function, duplicate arguments).
#pragma once
#include <string>
#include <string_view>

#include "tokenizer.hpp"

namespace weir {

class TokenWindow;

// Where a statement fails: CPython's message and the token it points at.
struct GrammarError {
  std::string message;
  size_t token = 0;     // absolute index of the token the message points at
  bool failed = false;
};

enum class Header { If, While, For, With, Except, Def, Class, Match, Case, Plain };

// Each call judges the tokens [first, end) of one statement or header; `end` is the
// NEWLINE, ';' or ':' that ends it. Returns false with `err` filled on a syntax error.
bool check_simple(std::string_view text, TokenWindow &w, size_t first, size_t end,
                  GrammarError &err);
bool check_header(std::string_view text, TokenWindow &w, Header kind, size_t first,
                  size_t end, GrammarError &err);
bool check_decorator(std::string_view text, TokenWindow &w, size_t first, size_t end,
                     GrammarError &err);

} // namespace weir
