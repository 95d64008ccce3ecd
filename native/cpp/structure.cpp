// The statement-level parser. Statements are found from keywords and depth-0 colons
// over the significant tokens (comments, NL and ENCODING dropped); bodies are either
// NEWLINE INDENT ... DEDENT or simple statements on the header's line.
#include "structure.hpp"

#include <cstring>
#include <set>
#include <stdexcept>

#include "grammar.hpp"

namespace weir {
namespace {

struct Failure {
  SyntaxIssue issue;
};

struct Scope {
  int def = -1; // -1: the module
  bool function = false;
  std::string qualname;
  std::set<std::string> globals;
};

struct Body {
  int owner = -1;
  bool doc_eligible = false;
  bool is_match = false;
  size_t count = 0;
  long docsite = -1; // the absolute number of its docstring site
};

class Parser {
public:
  Parser(std::string_view text, TokenWindow &toks, Structure &out)
      : text_(text), toks_(toks), out_(out) {}

  void run() {
    if (!toks_.exists(0)) return; // interrupted before ENDMARKER: nothing to parse
    scopes_.push_back(Scope{});
    Body module;
    module.doc_eligible = true;
    try {
      statements(module, false);
    } catch (const Failure &f) {
      out_.error = f.issue;
      return;
    }
    finish_body(module);
  }

private:
  std::string_view text_;
  TokenWindow &toks_;
  Structure &out_;
  std::vector<Scope> scopes_;
  std::vector<Token> parts_; // scratch for a docstring's literals
  size_t k_ = 0;

  Token T(size_t i) const { return toks_.get(i); }
  bool is(size_t i, Tok type) const { return T(i).type == type; }
  bool word(size_t i, const char *w) const {
    const Token t = T(i);
    if (t.type != Tok::NAME && t.type != Tok::OP) return false;
    size_t n = 0;
    for (; w[n]; n++)
      if (n >= t.len || text_[t.off + n] != w[n]) return false;
    return n == t.len;
  }
  bool op(size_t i, const char *w) const { return T(i).type == Tok::OP && word(i, w); }
  bool name(size_t i, const char *w) const { return T(i).type == Tok::NAME && word(i, w); }
  std::string str(size_t i) const { return std::string(text_.substr(T(i).off, T(i).len)); }
  bool at_end(size_t i) const { return !toks_.exists(i) || T(i).type == Tok::ENDMARKER; }
  // The token at i into t; false at the end (no token or ENDMARKER), as at_end.
  bool fetch(size_t i, Token &t) const {
    if (!toks_.exists(i)) return false;
    t = T(i);
    return t.type != Tok::ENDMARKER;
  }
  // A one-character operator's character, else 0.
  char op1(const Token &t) const { return t.type == Tok::OP && t.len == 1 ? text_[t.off] : 0; }
  [[noreturn]] void fail(const std::string &m, size_t i, long col_adjust = 1) const {
    const Token t = T(i);
    throw Failure{SyntaxIssue{m, long(t.srow), long(t.scol) + col_adjust}};
  }
  // A grammar error, where CPython's parser puts it: the column counts bytes.
  void grammar(bool ok, const GrammarError &e) const {
    if (ok) return;
    const Token t = T(e.token);
    size_t line_start = text_.rfind('\n', t.off == 0 ? 0 : t.off - 1);
    line_start = line_start == std::string_view::npos || t.off == 0 ? 0 : line_start + 1;
    throw Failure{SyntaxIssue{e.message, long(t.srow), long(t.off - line_start) + 1}};
  }
  void check(Header kind, size_t first, size_t colon) {
    GrammarError e;
    grammar(check_header(text_, toks_, kind, first, colon, e), e);
  }

  void statements(Body &b, bool block) {
    for (;;) {
      if (at_end(k_)) {
        if (block) return; // DEDENTs precede ENDMARKER; tolerate
        return;
      }
      if (is(k_, Tok::DEDENT)) {
        if (block) {
          k_++;
          return;
        }
        k_++;
        continue;
      }
      if (is(k_, Tok::INDENT)) {
        const Token t = T(k_);
        throw Failure{SyntaxIssue{"unexpected indent", long(t.srow), long(t.ecol)}};
      }
      if (is(k_, Tok::NEWLINE)) { // a stray NEWLINE (e.g. after a lone ';'): skip
        k_++;
        continue;
      }
      toks_.statement(k_);
      statement(b);
    }
  }

  void statement(Body &b) {
    Token t = T(k_);
    if (t.type == Tok::OP && op1(t) == '@') return decorated(b);
    if (t.type != Tok::NAME) return simple_line(b); // no keyword can start it
    keyword_statement(b, text_.substr(t.off, t.len));
  }

  void decorated(Body &b) {
    std::vector<std::string> decorators;
    while (op(k_, "@")) {
      size_t first = ++k_;
      while (!is(k_, Tok::NEWLINE) && !at_end(k_)) k_++;
      if (k_ == first) fail("invalid syntax", k_);
      GrammarError e;
      grammar(check_decorator(text_, toks_, first, k_, e), e);
      decorators.push_back(decorator_text(first, k_ - 1));
      k_++;
    }
    if (name(k_, "def") || name(k_, "class") || (name(k_, "async") && name(k_ + 1, "def")))
      return definition(b, std::move(decorators));
    fail("invalid syntax", k_);
  }

  // A statement starting with the NAME `w`.
  void keyword_statement(Body &b, std::string_view w) {
    if (w == "def" || w == "class" || (w == "async" && name(k_ + 1, "def")))
      return definition(b, {});
    static const std::string_view compound[] = {"if", "elif", "else", "while", "for", "try",
                                                "except", "finally", "with"};
    for (std::string_view kw : compound)
      if (w == kw) return compound_statement(b, kw.data()); // literals: NUL-terminated
    if (w == "async" && (name(k_ + 1, "for") || name(k_ + 1, "with")))
      return compound_statement(b, name(k_ + 1, "for") ? "for" : "with");
    if (b.is_match && w == "case") return compound_statement(b, "case");
    if (w == "match") {
      size_t c = header_colon(k_ + 1);
      if (c != size_t(-1) && c > k_ + 1 && is(c + 1, Tok::NEWLINE)) {
        return compound_statement(b, "match");
      }
    }
    simple_line(b);
  }

  size_t header_colon(size_t i) const {
    long depth = 0, lambdas = 0;
    Token t;
    for (; fetch(i, t) && t.type != Tok::NEWLINE; i++) {
      if (t.type == Tok::OP) {
        char c = op1(t);
        if (c == '(' || c == '[' || c == '{')
          depth++;
        else if (c == ')' || c == ']' || c == '}')
          depth--;
        else if (depth == 0 && c == ':') {
          if (lambdas == 0) return i;
          lambdas--;
        }
      } else if (depth == 0 && t.type == Tok::NAME && name(i, "lambda")) {
        lambdas++;
      }
    }
    return size_t(-1);
  }

  // Parses the body after a header's colon; returns its last significant token.
  // `what` names the header for the error: a keyword ("if") or "class"/"function".
  size_t suite(Body &child, size_t colon, const char *what, long header_line) {
    k_ = colon + 1;
    if (is(k_, Tok::NEWLINE)) {
      k_++;
      if (!is(k_, Tok::INDENT)) {
        const Token t = T(k_);
        std::string w = what;
        w = w == "class" ? "class definition"
            : w == "function" ? "function definition"
                              : "'" + w + "' statement";
        throw Failure{SyntaxIssue{"expected an indented block after " + w + " on line " +
                                      std::to_string(header_line),
                                  long(t.srow), long(t.scol) + 1}};
      }
      k_++;
      statements(child, true);
    } else {
      simple_line(child);
    }
    finish_body(child);
    size_t last = k_ - 1;
    while (last > colon && (is(last, Tok::NEWLINE) || is(last, Tok::DEDENT) ||
                            is(last, Tok::INDENT)))
      last--;
    return last;
  }

  void compound_statement(Body &b, const char *kw) {
    size_t start = k_;
    long line = long(T(k_).srow);
    size_t colon = header_colon(k_);
    if (colon == size_t(-1)) fail("expected ':'", k_);
    std::string_view w = kw;
    size_t first = k_ + (name(k_, "async") ? 2 : 1);
    check(w == "if" || w == "elif" ? Header::If
          : w == "while"           ? Header::While
          : w == "for"             ? Header::For
          : w == "with"            ? Header::With
          : w == "except"          ? Header::Except
          : w == "match"           ? Header::Match
          : w == "case"            ? Header::Case
                                   : Header::Plain,
          first, colon);
    count(b);
    Body child;
    child.owner = b.owner;
    child.is_match = std::string_view(kw) == "match";
    (void)start;
    suite(child, colon, kw, line);
  }

  std::string qualname_for(const std::string &n) const {
    const Scope &parent = scopes_.back();
    if (parent.def >= 0 && parent.globals.count(n)) return n;
    if (parent.def < 0) return n;
    return parent.qualname + (parent.function ? ".<locals>." : ".") + n;
  }

  void definition(Body &b, std::vector<std::string> decorators) {
    count(b);
    bool async = name(k_, "async");
    long line = long(T(k_).srow);
    if (async) k_++;
    bool is_class = name(k_, "class");
    if (!is(k_ + 1, Tok::NAME)) fail("invalid syntax", k_ + 1);
    Definition d;
    d.kind = is_class ? "class" : async ? "async_function" : "function";
    d.name = str(k_ + 1);
    d.qualname = qualname_for(d.name);
    d.line = line;
    d.decorators = std::move(decorators);
    d.parent = scopes_.back().def;
    size_t colon = header_colon(k_ + 2);
    if (colon == size_t(-1)) fail("expected ':'", k_ + 2);
    check(is_class ? Header::Class : Header::Def, k_ + 1, colon);
    d.body_first = colon + 1; // the consumer may see the body before it ends
    int index = int(out_.defs.size());
    out_.defs.push_back(std::move(d));
    scopes_.push_back(Scope{index, !is_class, out_.defs[size_t(index)].qualname, {}});
    Body child;
    child.owner = index;
    child.doc_eligible = true;
    size_t last = suite(child, colon, is_class ? "class" : "function", line);
    scopes_.pop_back();
    Definition &def = out_.defs[size_t(index)];
    def.body_last = last;
    def.end_line = long(T(last).erow);
  }

  void simple_line(Body &b) {
    for (;;) {
      size_t first = k_;
      long depth = 0;
      Token t;
      while (fetch(k_, t) && t.type != Tok::NEWLINE && t.type != Tok::INDENT &&
             t.type != Tok::DEDENT) {
        char c = op1(t);
        if (c == '(' || c == '[' || c == '{') depth++;
        if (c == ')' || c == ']' || c == '}') depth--;
        if (depth <= 0 && c == ';') break;
        k_++;
      }
      if (k_ > first) simple_statement(b, first, k_ - 1);
      if (op(k_, ";")) {
        k_++;
        if (is(k_, Tok::NEWLINE)) {
          k_++;
          return;
        }
        continue;
      }
      if (is(k_, Tok::NEWLINE)) k_++;
      return;
    }
  }

  void simple_statement(Body &b, size_t first, size_t last) {
    GrammarError e;
    grammar(check_simple(text_, toks_, first, last + 1, e), e);
    bool first_stmt = b.count == 0;
    count(b);
    if (name(first, "import") || name(first, "from")) return import_statement(first, last);
    if (name(first, "global")) {
      for (size_t i = first + 1; i <= last; i++)
        if (is(i, Tok::NAME)) scopes_.back().globals.insert(str(i));
      return;
    }
    if (!b.doc_eligible || !first_stmt) return;
    size_t a = first, z = last;
    while (a < z && op(a, "(") && op(z, ")") && matching(a, z) == z) a++, z--;
    parts_.clear();
    for (size_t i = a; i <= z; i++) {
      if (!is(i, Tok::STRING)) return;
      parts_.push_back(T(i));
    }
    Text value;
    if (!string_value(text_, parts_, value)) return;
    Text doc = cleandoc(value);
    std::string &json = b.owner < 0 ? out_.module_docstring : out_.defs[size_t(b.owner)].docstring;
    json.clear();
    json_string(json, doc.data(), doc.size());
    if (b.owner < 0)
      out_.has_module_docstring = true;
    else
      out_.defs[size_t(b.owner)].has_docstring = true;
    b.docsite = long(out_.docsites_dropped + out_.docsites.size());
    out_.docsites.push_back(DocSite{b.owner, first, last, last + 1, false, b.count > 1});
  }

  // Counts a statement of `b`; a second one settles its docstring as not alone.
  void count(Body &b) {
    if (++b.count == 2 && b.docsite >= 0) settle(b.docsite, false);
  }

  void settle(long site, bool alone) {
    DocSite &d = out_.docsites[size_t(site) - out_.docsites_dropped];
    d.alone = alone;
    d.settled = true;
  }

  // A docstring still alone when its body ends stays alone (a second statement
  // settled it already, and it may be consumed since).
  void finish_body(Body &b) {
    if (b.docsite >= 0 && b.count == 1) settle(b.docsite, true);
  }

  // The bracket closing the one at `open`, looked for up to `limit` only (the
  // statement's end: reading on could pull the rest of a broken file in).
  size_t matching(size_t open, size_t limit) const {
    long depth = 0;
    Token t;
    for (size_t i = open; i <= limit && fetch(i, t); i++) {
      char c = op1(t);
      if (c == '(' || c == '[' || c == '{') depth++;
      if (c == ')' || c == ']' || c == '}')
        if (--depth == 0) return i;
    }
    return size_t(-1);
  }

  std::string dotted(size_t &i, size_t last) const {
    std::string s;
    while (i <= last && is(i, Tok::NAME)) {
      s += str(i++);
      if (i <= last && op(i, ".")) {
        s += ".";
        i++;
      } else {
        break;
      }
    }
    return s;
  }

  void import_statement(size_t first, size_t last) {
    long line = long(T(first).srow);
    size_t i = first + 1;
    if (name(first, "import")) {
      while (i <= last) {
        Import im;
        im.line = line;
        im.module = dotted(i, last);
        im.name = im.module;
        if (i <= last && name(i, "as")) {
          im.asname = str(i + 1);
          i += 2;
        }
        out_.imports.push_back(im);
        if (i <= last && op(i, ",")) i++;
        else break;
      }
      return;
    }
    int level = 0;
    while (i <= last && (op(i, ".") || op(i, "..."))) level += op(i++, ".") ? 1 : 3;
    std::string module;
    bool null_module = true;
    if (i <= last && !name(i, "import")) {
      module = dotted(i, last);
      null_module = false;
    }
    if (i <= last && name(i, "import")) i++;
    if (i <= last && op(i, "(")) i++;
    while (i <= last && !op(i, ")")) {
      Import im;
      im.from = true;
      im.line = line;
      im.level = level;
      im.module = module;
      im.module_null = null_module;
      im.name = str(i++);
      if (i <= last && name(i, "as")) {
        im.asname = str(i + 1);
        i += 2;
      }
      out_.imports.push_back(im);
      if (i <= last && op(i, ",")) i++;
      else break;
    }
  }

  // The decorator expression's source text, as ast.get_source_segment gives it: a
  // parenthesised non-tuple loses its parentheses, since its node starts inside them.
  std::string decorator_text(size_t first, size_t last) const {
    while (op(first, "(") && op(last, ")") && matching(first, last) == last) {
      long depth = 0;
      bool bare = true;
      for (size_t i = first + 1; i < last; i++) {
        if (op(i, "(") || op(i, "[") || op(i, "{")) depth++;
        if (op(i, ")") || op(i, "]") || op(i, "}")) depth--;
        if (depth == 0 && (op(i, ",") || name(i, "for") || name(i, "yield"))) bare = false;
      }
      if (!bare || first + 1 > last - 1) break;
      first++;
      last--;
    }
    const Token a = T(first), z = T(last);
    return std::string(text_.substr(a.off, z.off + z.len - a.off));
  }
};

} // namespace

void parse_structure(std::string_view text, TokenWindow &tokens, Structure &out) {
  Parser p(text, tokens, out);
  p.run();
}

void TokenWindow::fill(size_t i) {
  while (i - base_ >= tokens_.size() && pull()) {
  }
  sync();
}

// One step of the stream: its significant tokens and comments are kept, unless the
// parse is given up, when they are only counted. False once the stream is complete.
bool TokenWindow::pull() {
  bool more = stream_.step();
  for (const Token &t : stream_.fresh()) {
    if (t.type == Tok::COMMENT)
      comments_.push_back(t);
    else if (t.type != Tok::NL && t.type != Tok::ENCODING)
      tokens_.push_back(t);
  }
  if (!tokens_.empty()) last_ = tokens_.back();
  if (discard_) {
    base_ += tokens_.size();
    tokens_.clear();
    comments_.clear();
  }
  return more;
}

void TokenWindow::sync() {
  data_ = tokens_.data();
  size_ = tokens_.size();
}

Token TokenWindow::get_slow(size_t i) {
  if (i < base_) throw std::logic_error("token window: a dropped token was read");
  fill(i);
  if (i - base_ < size_) return data_[i - base_];
  // Past the end: ENDMARKER, as the last token of a clean stream. A stream cut short
  // by a tokenize error ends elsewhere (the parse is then discarded), and reading its
  // last token again and again could keep the parser from ever stopping.
  Token end = last_;
  end.type = Tok::ENDMARKER;
  end.len = 0;
  return end;
}

void TokenWindow::statement(size_t i) {
  constexpr size_t kBatch = 4096; // tokens per hand-over: amortizes the consumer's setup
  size_t upto = lag_;
  lag_ = i;
  if (!discard_ && upto >= consumed_ + kBatch) release(upto, false);
}

// Hands [consumed_, upto) to the consumer with the comments before token `upto`
// (all of them with `all`), then drops what is no longer needed.
void TokenWindow::release(size_t upto, bool all) {
  size_t cut = comments_.size();
  if (!all) {
    uint32_t before = get(upto).off;
    cut = 0;
    while (cut < comments_.size() && comments_[cut].off < before) cut++;
  }
  batch_comments_.assign(comments_.begin(), comments_.begin() + long(cut));
  comments_.erase(comments_.begin(), comments_.begin() + long(cut));
  if (consumer && upto > consumed_) consumer->consume(*this, consumed_, upto, batch_comments_);
  consumed_ = upto;
  if (consumed_ > base_ + 1) { // keep the token before `consumed_` for look-behind
    size_t n = std::min(consumed_ - 1 - base_, tokens_.size());
    tokens_.erase(tokens_.begin(), tokens_.begin() + long(n));
    base_ += n;
  }
  sync();
}

void TokenWindow::finish(bool consume) {
  if (!consume) discard();
  while (pull()) {
  }
  sync();
  if (consume) release(base_ + tokens_.size(), true);
}

void TokenWindow::discard() {
  discard_ = true;
  consumer = nullptr;
  base_ += tokens_.size();
  tokens_.clear();
  comments_.clear();
  sync();
}

} // namespace weir
