// A recogniser for Python 3.11's grammar over a statement's significant tokens,
// written as the PEG grammar reads (ordered choice, backtracking to a saved position),
// but with the operators' levels flattened: recognising needs no precedence. Each
// token is classified once (keyword, operator kind, whether it may start an
// expression). Like CPython's parser it remembers the furthest token it looked at:
// when nothing matches, that is where "invalid syntax" points. A few of CPython's
// `invalid_` rules are kept for their messages: a comma forgotten inside brackets,
// `print`/`exec` without parentheses, an `if` expression without `else`, an
// unparenthesized tuple of exceptions.
#include "grammar.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "structure.hpp"

namespace weir {
namespace {

// What a token may be, found once per token.
enum : uint8_t {
  kKeyword = 1,   // a hard keyword
  kBinary = 2,    // | ^ & << >> + - * / // % @: between operands (** is power's)
  kCompare = 4,   // == != < <= > >=
  kUnary = 8,     // + - ~
  kStarts = 16,   // may start an expression
  kAugAssign = 32 // += -= ... //=
};

// A token's text in 8 bytes, little-endian; a longer text packs to a value no
// literal here has. A loop, not memcpy, so that a literal folds to a constant.
constexpr uint64_t pack(std::string_view s) {
  if (s.size() > 8) return ~uint64_t(0);
  uint64_t v = 0;
  for (size_t k = 0; k < s.size(); k++) v |= uint64_t(uint8_t(s[k])) << (8 * k);
  return v;
}

// pack() of text[off, off + len), with one load where eight bytes can be read.
uint64_t pack_text(std::string_view text, size_t off, size_t len) {
  if (len > 8) return ~uint64_t(0);
  if (off + 8 > text.size()) return pack(text.substr(off, len));
  uint64_t v;
  memcpy(&v, text.data() + off, 8);
  return len == 8 ? v : v & ((uint64_t(1) << (8 * len)) - 1);
}

uint8_t classify(Tok type, uint64_t packed) {
  if (type == Tok::NUMBER || type == Tok::STRING) return kStarts;
  if (type == Tok::NAME) {
    switch (packed) {
    case pack("None"): case pack("True"): case pack("False"): case pack("not"):
    case pack("lambda"): case pack("await"):
      return kKeyword | kStarts;
    case pack("and"): case pack("as"): case pack("assert"): case pack("async"):
    case pack("break"): case pack("class"): case pack("continue"): case pack("def"):
    case pack("del"): case pack("elif"): case pack("else"): case pack("except"):
    case pack("finally"): case pack("for"): case pack("from"): case pack("global"):
    case pack("if"): case pack("import"): case pack("in"): case pack("is"):
    case pack("nonlocal"): case pack("or"): case pack("pass"): case pack("raise"):
    case pack("return"): case pack("try"): case pack("while"): case pack("with"):
    case pack("yield"):
      return kKeyword;
    default: return kStarts;
    }
  }
  if (type != Tok::OP) return 0;
  switch (packed) {
  case pack("("): case pack("["): case pack("{"): case pack("..."): return kStarts;
  case pack("+"): case pack("-"): return kBinary | kUnary | kStarts;
  case pack("~"): return kUnary | kStarts;
  case pack("|"): case pack("^"): case pack("&"): case pack("<<"): case pack(">>"):
  case pack("*"): case pack("/"): case pack("//"): case pack("%"): case pack("@"):
    return kBinary;
  case pack("=="): case pack("!="): case pack("<"): case pack("<="): case pack(">"):
  case pack(">="):
    return kCompare;
  case pack("+="): case pack("-="): case pack("*="): case pack("@="): case pack("/="):
  case pack("%="): case pack("&="): case pack("|="): case pack("^="): case pack("<<="):
  case pack(">>="): case pack("**="): case pack("//="):
    return kAugAssign;
  default: return 0;
  }
}

struct Raised {
  std::string message;
  size_t token;
};

// Nesting past what the recogniser follows (the tokenizer reports brackets nested
// past 200; this bounds the stack for unary operators, `not` and patterns too).
struct TooDeep {};
constexpr int kMaxNesting = 1000;

class Recogniser {
public:
  Recogniser(std::string_view text, TokenWindow &w, size_t first, size_t end)
      : w_(w), p_(first), end_(end), far_(first), first_(first),
        lex_(scratch()) {
    lex_.clear();
    for (size_t i = first; i < end; i++) {
      const Token t = w.get(i);
      uint64_t packed = pack_text(text, t.off, t.len);
      lex_.push_back(Lex{t.type, classify(t.type, packed), packed});
    }
  }

  // Runs `rule` over the whole range; false with `err` filled when it fails.
  template <class Rule> bool run(Rule rule, GrammarError &err) {
    try {
      if (rule() && p_ == end_) return true;
      look(p_);
      err = GrammarError{"invalid syntax", std::min(far_, end_), true};
    } catch (const Raised &r) {
      err = GrammarError{r.message, r.token, true};
    } catch (const TooDeep &) {
      return true; // no verdict
    }
    return false;
  }

  // --- statements ---------------------------------------------------------------

  bool simple_stmt() {
    if (kw("pass") || kw("break") || kw("continue")) return ++p_, true;
    if (kw("return")) return ++p_, opt([&] { return star_expressions(); });
    if (kw("raise")) {
      ++p_;
      if (!expression()) return true;
      return !kw("from") || (++p_, expression());
    }
    if (kw("global") || kw("nonlocal")) {
      ++p_;
      return sep_by([&] { return name(); }, ",");
    }
    if (kw("del")) return ++p_, targets_list();
    if (kw("assert")) {
      ++p_;
      if (!expression()) return false;
      return !op(",") || (++p_, expression());
    }
    if (kw("import")) return ++p_, sep_by([&] { return dotted_as_name(); }, ",");
    if (kw("from")) return import_from();
    return assignment_or_expression();
  }

  bool assignment_or_expression() {
    size_t start = p_;
    if (kw("yield") ? !yield_expr() : !star_expressions()) return false;
    if (op(":")) { // an annotation
      ++p_;
      if (!expression()) return false;
      return !op("=") || (++p_, yield_or_star());
    }
    if (augassign()) return ++p_, yield_or_star();
    while (op("=")) {
      ++p_;
      if (!yield_or_star()) return false;
    }
    legacy(start);
    return true;
  }

  // `print x` and `exec x`: CPython names the missing parentheses.
  void legacy(size_t start) {
    if (p_ == end_ || !(word(start, "print") || word(start, "exec")) || start + 1 != p_) return;
    if (!starts_expression(p_)) return;
    std::string n(word(start, "print") ? "print" : "exec");
    throw Raised{"Missing parentheses in call to '" + n + "'. Did you mean " + n + "(...)?",
                 start};
  }

  // A compound statement's header, from the token after its keyword(s) to its ':'.
  bool header(Header kind) {
    switch (kind) {
    case Header::If:
    case Header::While: return named_expression();
    case Header::For:
      if (!targets_list()) return false;
      if (!kw("in")) return false;
      return ++p_, star_expressions();
    case Header::With: return with_items();
    case Header::Except: {
      if (op("*")) ++p_;
      if (p_ == end_) return true;
      size_t a = p_;
      if (!expression()) return false;
      if (op(",")) // except A, B: a tuple without parentheses is refused
        throw Raised{"multiple exception types must be parenthesized", a};
      return !kw("as") || (++p_, name());
    }
    case Header::Def: return def_header();
    case Header::Class:
      if (!name()) return false;
      if (!op("(")) return true;
      return bracketed(")", [&] { return arguments(); });
    case Header::Match: return subject();
    case Header::Case:
      if (!patterns()) return false;
      return !kw("if") || (++p_, named_expression());
    case Header::Plain: return true;
    }
    return false;
  }

  // --- expressions --------------------------------------------------------------

  bool star_expressions() {
    if (!star_expression()) return false;
    while (op(",")) {
      ++p_;
      if (!starts_star_expression(p_)) break;
      if (!star_expression()) return false;
    }
    return true;
  }

  bool star_expression() {
    if (op("*")) return ++p_, bitwise_or();
    return expression();
  }

  bool yield_or_star() { return kw("yield") ? yield_expr() : star_expressions(); }

  bool yield_expr() {
    ++p_; // yield
    if (kw("from")) return ++p_, expression();
    return !starts_star_expression(p_) || star_expressions();
  }

  bool named_expression() {
    if (is_name(p_) && op_at(p_ + 1, ":=")) {
      p_ += 2;
      return expression();
    }
    return expression();
  }

  bool star_named_expression() {
    if (op("*")) return ++p_, bitwise_or();
    return named_expression();
  }

  bool expression() {
    Deeper d(*this);
    if (kw("lambda")) return lambdef();
    size_t a = p_;
    if (!disjunction()) return false;
    if (kw("if")) {
      ++p_;
      if (!disjunction()) return false;
      if (!kw("else")) {
        if (!op(":")) throw Raised{"expected 'else' after 'if' expression", a};
        return false;
      }
      ++p_;
      return expression();
    }
    forgotten_comma(a);
    return true;
  }

  // Two expressions in a row inside brackets: CPython's hint names the comma.
  void forgotten_comma(size_t a) {
    if (depth_ == 0 || p_ >= end_ || !starts_expression(p_)) return;
    const Token first = T(a);
    if (first.type == Tok::NAME && a + 1 < end_ && T(a + 1).type == Tok::STRING) return;
    if (soft_keyword(a)) return;
    size_t save = p_;
    if (!disjunction()) { // the second must be an expression too
      p_ = save;
      return;
    }
    p_ = save;
    throw Raised{"invalid syntax. Perhaps you forgot a comma?", a};
  }

  bool lambdef() {
    ++p_; // lambda
    if (!op(":") && !params(false)) return false;
    if (!op(":")) return false;
    return ++p_, expression();
  }

  // The grammar's levels of operators, flattened: recognising needs no precedence,
  // only what may stand between operands. A disjunction is `not`* comparison joined
  // by `and`/`or`; a comparison is bitwise_or joined by comparison operators; a
  // bitwise_or is factors joined by binary operators.
  bool disjunction() {
    for (;;) {
      while (kw("not")) ++p_;
      if (!comparison()) return false;
      if (!kw("and") && !kw("or")) return true;
      ++p_;
    }
  }
  bool comparison() {
    if (!bitwise_or()) return false;
    for (;;) {
      if (flag(p_, kCompare) || kw("in")) {
        ++p_;
      } else if (kw("not") && word(p_ + 1, "in")) {
        p_ += 2;
      } else if (kw("is")) {
        ++p_;
        if (kw("not")) ++p_;
      } else {
        return true;
      }
      if (!bitwise_or()) return false;
    }
  }
  bool bitwise_or() {
    for (;;) {
      if (!factor()) return false;
      if (!flag(p_, kBinary)) return true;
      ++p_;
    }
  }
  bool factor() {
    while (flag(p_, kUnary)) ++p_;
    return power();
  }
  bool power() {
    if (!await_primary()) return false;
    return !op("**") || (++p_, factor());
  }
  bool await_primary() {
    if (kw("await")) ++p_;
    return primary();
  }
  bool primary() {
    if (!atom()) return false;
    for (;;) {
      if (op(".")) {
        ++p_;
        if (!name()) return false;
      } else if (op("(")) {
        if (!bracketed(")", [&] { return arguments(); })) return false;
      } else if (op("[")) {
        if (!bracketed("]", [&] { return slices(); })) return false;
      } else {
        return true;
      }
    }
  }

  bool atom() {
    look(p_);
    if (p_ >= end_) return false;
    const Tok type = L(p_).type;
    if (type == Tok::NAME) {
      if (keyword(p_) && !word(p_, "True") && !word(p_, "False") && !word(p_, "None"))
        return false;
      return name_end(), true;
    }
    if (type == Tok::NUMBER) return ++p_, true;
    if (type == Tok::STRING) return strings();
    if (op("...")) return ++p_, true;
    if (op("(")) return bracketed(")", [&] { return paren_body(); });
    if (op("[")) return bracketed("]", [&] { return list_body(); });
    if (op("{")) return bracketed("}", [&] { return brace_body(); });
    return false;
  }

  // Up to `close`: nothing, or an item then a comprehension, or items separated by
  // commas (one may trail). Lists, tuples, sets and dicts read alike.
  template <class F> bool display(const char *close, F item) {
    if (op(close)) return true;
    if (!item()) return false;
    if (starts_comprehension()) return for_if_clauses();
    return !op(",") || (++p_, op(close) || listed(close, item));
  }

  // Items separated by commas, one at least, one comma may trail, before `close`.
  template <class F> bool listed(const char *close, F item) {
    for (;;) {
      if (!item()) return false;
      if (!op(",")) return true;
      ++p_;
      if (op(close)) return true;
    }
  }

  // ( ... ): empty, a yield, a generator, a parenthesized expression or a tuple.
  bool paren_body() {
    if (kw("yield")) return yield_expr();
    return display(")", [&] { return star_named_expression(); });
  }

  bool list_body() {
    return display("]", [&] { return star_named_expression(); });
  }

  // { ... }: an empty dict, a dict or set, or their comprehensions.
  bool brace_body() {
    bool dict = op("**") || dict_item_ahead();
    return display("}", [&] {
      if (!dict) return star_named_expression();
      if (op("**")) return ++p_, bitwise_or();
      if (!expression()) return false;
      if (!op(":")) return false;
      return ++p_, expression();
    });
  }

  // Whether the first item of a brace is `key: value` (a ':' at this depth before
  // the next ',' or the closing brace).
  bool dict_item_ahead() {
    long depth = 0;
    for (size_t i = p_; i < end_; i++) {
      const Lex &l = L(i);
      if (depth == 0 && l.type == Tok::NAME && l.packed == pack("lambda")) return false;
      if (l.type != Tok::OP) continue;
      auto is = [&](const char *s) { return l.packed == pack(s); };
      if (is("(") || is("[") || is("{"))
        depth++;
      else if (is(")") || is("]") || is("}")) {
        if (depth-- == 0) return false;
      } else if (depth == 0 && is(",")) {
        return false;
      } else if (depth == 0 && is(":")) {
        return true;
      }
    }
    return false;
  }

  bool starts_comprehension() { return kw("for") || (kw("async") && word(p_ + 1, "for")); }

  bool for_if_clauses() {
    while (starts_comprehension()) {
      if (kw("async")) ++p_;
      ++p_; // for
      if (!targets_list()) return false;
      if (!kw("in")) return false;
      ++p_;
      if (!disjunction()) return false;
      while (kw("if")) {
        ++p_;
        if (!disjunction()) return false;
      }
    }
    return true;
  }

  bool slices() { return listed("]", [&] { return slice(); }); }
  bool slice() {
    if (op("*")) return ++p_, bitwise_or();
    if (!op(":") && !named_expression()) return false;
    if (!op(":")) return true;
    ++p_;
    if (!op(":") && !op(",") && !op("]") && !expression()) return false;
    if (!op(":")) return true;
    ++p_;
    return op(",") || op("]") || expression();
  }

  // Call arguments: positional, starred, keyword, `**`, or one generator.
  bool arguments() {
    return op(")") || listed(")", [&] {
      if (op("*") || op("**")) return ++p_, expression();
      if (is_name(p_) && op_at(p_ + 1, "=")) return p_ += 2, expression();
      if (!named_expression()) return false;
      return !starts_comprehension() || for_if_clauses();
    });
  }

  // Targets of for, del and comprehensions, read as expressions (CPython's checks
  // of what can be assigned come after the parse).
  bool targets_list() {
    if (!star_target()) return false;
    while (op(",")) {
      ++p_;
      if (kw("in") || p_ == end_ || op("=") || op(")") || op(":")) return true;
      if (!star_target()) return false;
    }
    return true;
  }
  bool star_target() {
    if (op("*")) ++p_;
    return bitwise_or();
  }

  // --- definitions, imports, with -----------------------------------------------

  bool def_header() {
    if (!name()) return false;
    if (!op("(")) return false;
    if (!bracketed(")", [&] { return op(")") || params(true); })) return false;
    return !op("->") || (++p_, expression());
  }

  // Parameters, up to the closing ')' (def) or ':' (lambda): names with defaults,
  // annotations (def only), '/', '*', '*args', '**kwargs'.
  bool params(bool annotated) {
    auto one = [&] {
      if (!name()) return false;
      if (annotated && op(":")) {
        ++p_;
        if (op("*") && annotated) ++p_; // *args: *Ts (3.11)
        if (!expression()) return false;
      }
      return true;
    };
    for (;;) {
      if (op("/")) {
        ++p_;
      } else if (op("**")) {
        ++p_;
        if (!one()) return false;
      } else if (op("*")) {
        ++p_;
        if (!op(",") && !one()) return false;
      } else {
        if (!one()) return false;
        if (op("=")) {
          ++p_;
          if (!expression()) return false;
        }
      }
      if (!op(",")) return true;
      ++p_;
      if (op(")") || op(":")) return true;
    }
  }

  bool dotted_name() {
    if (!name()) return false;
    while (op(".")) {
      ++p_;
      if (!name()) return false;
    }
    return true;
  }
  bool dotted_as_name() {
    if (!dotted_name()) return false;
    return !kw("as") || (++p_, name());
  }
  bool import_from() {
    ++p_; // from
    bool dots = false;
    while (op(".") || op("...")) ++p_, dots = true;
    if (!kw("import") && !dotted_name()) return false;
    if (!kw("import")) return false;
    (void)dots;
    ++p_;
    if (op("*")) return ++p_, true;
    auto as_name = [&] {
      if (!name()) return false;
      return !kw("as") || (++p_, name());
    };
    if (op("(")) return bracketed(")", [&] { return listed(")", as_name); });
    return sep_by(as_name, ",");
  }

  bool with_items() {
    size_t save = p_;
    if (op("(")) { // parenthesized items, if the ')' ends the header
      bool ok = bracketed(")", [&] { return listed(")", [&] { return with_item(); }); });
      if (ok && p_ == end_) return true;
      p_ = save;
    }
    return sep_by([&] { return with_item(); }, ",");
  }
  bool with_item() {
    if (!expression()) return false;
    return !kw("as") || (++p_, star_target());
  }

  // --- match --------------------------------------------------------------------

  bool subject() {
    if (!star_named_expression()) return false;
    while (op(",")) {
      ++p_;
      if (p_ == end_) return true;
      if (!star_named_expression()) return false;
    }
    return true;
  }

  bool patterns() {
    if (!as_pattern()) return false;
    while (op(",")) {
      ++p_;
      if (p_ == end_ || kw("if")) return true;
      if (!as_pattern()) return false;
    }
    return true;
  }
  bool as_pattern() {
    if (!or_pattern()) return false;
    return !kw("as") || (++p_, name());
  }
  bool or_pattern() {
    if (!closed_pattern()) return false;
    while (op("|")) {
      ++p_;
      if (!closed_pattern()) return false;
    }
    return true;
  }
  bool closed_pattern() {
    Deeper d(*this);
    auto patterns_to = [&](const char *close) {
      return op(close) || listed(close, [&] { return as_pattern(); });
    };
    if (op("*")) return ++p_, name();
    if (op("(")) return bracketed(")", [&] { return patterns_to(")"); });
    if (op("[")) return bracketed("]", [&] { return patterns_to("]"); });
    if (op("{")) return bracketed("}", [&] { return mapping_items(); });
    if (!is_name(p_)) return key_pattern(); // a literal
    if (!dotted_name()) return false;
    if (!op("(")) return true;
    return bracketed(")", [&] { // a class pattern's arguments
      return op(")") || listed(")", [&] {
        if (is_name(p_) && op_at(p_ + 1, "=")) p_ += 2;
        return as_pattern();
      });
    });
  }
  // A literal or a dotted name: what a mapping pattern's key may be.
  bool key_pattern() {
    if (op("-") || is_kind(p_, Tok::NUMBER)) return signed_number();
    if (is_kind(p_, Tok::STRING)) return strings();
    if (kw("None") || kw("True") || kw("False")) return ++p_, true;
    return dotted_name();
  }
  bool strings() {
    while (is_kind(p_, Tok::STRING)) ++p_;
    return true;
  }
  bool signed_number() {
    if (op("-")) ++p_;
    if (!is_kind(p_, Tok::NUMBER)) return look(p_), false;
    ++p_;
    if (op("+") || op("-")) {
      ++p_;
      if (!is_kind(p_, Tok::NUMBER)) return look(p_), false;
      ++p_;
    }
    return true;
  }
  bool mapping_items() {
    bool rest = false; // `**rest` comes last
    return op("}") || listed("}", [&] {
      if (rest) return look(p_), false;
      if (op("**")) return ++p_, rest = true, name();
      if (!key_pattern() || !op(":")) return false;
      return ++p_, as_pattern();
    });
  }

private:
  TokenWindow &w_;
  size_t p_, end_, far_;
  long depth_ = 0; // brackets open around p_
  int nesting_ = 0; // rules that can recurse, open around p_
  struct Deeper {
    Recogniser &r;
    explicit Deeper(Recogniser &r) : r(r) {
      if (++r.nesting_ > kMaxNesting) throw TooDeep{};
    }
    ~Deeper() { r.nesting_--; }
  };

  // Each token of the range, read once: its type, its text packed into 8 bytes (a
  // longer text packs to a value no literal here has) and whether it is a keyword.
  struct Lex {
    Tok type;
    uint8_t flags; // of the kinds below
    uint64_t packed;
  };
  size_t first_;
  std::vector<Lex> &lex_;
  // One buffer a thread, reused statement after statement.
  static std::vector<Lex> &scratch() {
    static thread_local std::vector<Lex> buffer;
    return buffer;
  }
  const Lex &L(size_t i) const { return lex_[i - first_]; }

  Token T(size_t i) const { return w_.get(i); }
  void look(size_t i) { far_ = std::max(far_, std::min(i, end_)); }
  bool is_kind(size_t i, Tok k) {
    look(i);
    return i < end_ && L(i).type == k;
  }
  bool word(size_t i, std::string_view s) {
    look(i);
    if (i >= end_) return false;
    const Lex &l = L(i);
    return (l.type == Tok::NAME || l.type == Tok::OP) && l.packed == pack(s);
  }
  bool op_at(size_t i, std::string_view s) {
    look(i);
    return i < end_ && L(i).type == Tok::OP && L(i).packed == pack(s);
  }
  bool op(std::string_view s) { return op_at(p_, s); }
  bool kw(std::string_view s) { return is_kind(p_, Tok::NAME) && L(p_).packed == pack(s); }
  bool keyword(size_t i) const { return L(i).flags & kKeyword; }
  bool flag(size_t i, uint8_t f) {
    look(i);
    return i < end_ && (L(i).flags & f);
  }
  bool soft_keyword(size_t i) { return word(i, "match") || word(i, "case") || word(i, "_"); }
  bool is_name(size_t i) { return is_kind(i, Tok::NAME) && !keyword(i); }
  bool name() { return is_name(p_) ? (name_end(), true) : false; }
  // Past a NAME and what continues it for the compiler though tokenize.py's \w stops
  // there (a combining mark: an ERRORTOKEN right after it, which the tokenizer let
  // through without an error).
  void name_end() {
    ++p_;
    if (p_ >= end_ || L(p_).type != Tok::ERRORTOKEN) return;
    Token prev = T(p_ - 1);
    while (p_ < end_) {
      const Token t = T(p_);
      bool glued = t.srow == prev.erow && t.scol == prev.ecol;
      // After a mark, the name goes on: tokenize.py starts a NAME or NUMBER there.
      bool goes_on = t.type == Tok::ERRORTOKEN ||
                     (prev.type == Tok::ERRORTOKEN && (t.type == Tok::NAME || t.type == Tok::NUMBER));
      if (!glued || !goes_on) return;
      prev = t;
      ++p_;
    }
  }
  bool augassign() { return flag(p_, kAugAssign); }
  bool starts_expression(size_t i) { return flag(i, kStarts); }
  bool starts_star_expression(size_t i) { return op_at(i, "*") || starts_expression(i); }

  template <class F> bool opt(F f) {
    if (p_ == end_) return true;
    return f();
  }
  // f (sep f)*
  template <class F> bool sep_by(F f, std::string_view sep) {
    if (!f()) return false;
    while (op(sep)) {
      ++p_;
      if (!f()) return false;
    }
    return true;
  }
  // `open` at p_, then `body`, then `close`.
  template <class F> bool bracketed(const char *close, F body) {
    ++p_;
    depth_++;
    bool ok = body() && op(close);
    depth_--;
    if (!ok) return false;
    ++p_;
    return true;
  }
};

} // namespace

bool check_simple(std::string_view text, TokenWindow &w, size_t first, size_t end,
                  GrammarError &err) {
  Recogniser r(text, w, first, end);
  return r.run([&] { return r.simple_stmt(); }, err);
}

bool check_header(std::string_view text, TokenWindow &w, Header kind, size_t first,
                  size_t end, GrammarError &err) {
  Recogniser r(text, w, first, end);
  return r.run([&] { return r.header(kind); }, err);
}

bool check_decorator(std::string_view text, TokenWindow &w, size_t first, size_t end,
                     GrammarError &err) {
  Recogniser r(text, w, first, end);
  return r.run([&] { return r.named_expression(); }, err);
}

} // namespace weir
