// tokenize.py's control flow, with its regular expressions as small matchers. Each
// matcher returns the end of its match or kNo, following the regex's own order of
// alternatives (not longest match) where that matters.
#include "tokenizer.hpp"

#include <cstdio>

namespace weir {
namespace {

constexpr size_t kNo = size_t(-1);
constexpr uint32_t kTabSize = 8;
constexpr size_t kMaxLevel = 200;  // the C tokenizer's MAXLEVEL
constexpr size_t kMaxIndent = 100; // and MAXINDENT

struct Line {
  const char32_t *s;
  size_t n;
  char32_t at(size_t i) const { return i < n ? s[i] : 0; }
  bool has(size_t i) const { return i < n; }
};

bool digit(char32_t c) { return c >= '0' && c <= '9'; }
bool hexdigit(char32_t c) {
  return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// [0-9](?:_?[0-9])*
size_t digits(const Line &l, size_t p) {
  if (!l.has(p) || !digit(l.at(p))) return kNo;
  p++;
  for (;;) {
    if (l.has(p) && digit(l.at(p)))
      p++;
    else if (l.at(p) == '_' && l.has(p + 1) && digit(l.at(p + 1)))
      p += 2;
    else
      return p;
  }
}

// (?:_?[class])+
template <class F> size_t grouped(const Line &l, size_t p, F in_class) {
  size_t start = p;
  for (;;) {
    if (l.has(p) && in_class(l.at(p)))
      p++;
    else if (l.at(p) == '_' && l.has(p + 1) && in_class(l.at(p + 1)))
      p += 2;
    else
      return p == start ? kNo : p;
  }
}

size_t exponent(const Line &l, size_t p) {
  if (l.at(p) != 'e' && l.at(p) != 'E') return kNo;
  p++;
  if (l.at(p) == '-' || l.at(p) == '+') p++;
  return digits(l, p);
}

size_t maybe_exponent(const Line &l, size_t p) {
  size_t e = exponent(l, p);
  return e == kNo ? p : e;
}

size_t pointfloat(const Line &l, size_t p) {
  size_t d = digits(l, p);
  if (d != kNo) {
    if (l.at(d) != '.') return kNo;
    size_t q = d + 1;
    size_t f = digits(l, q);
    if (f != kNo) q = f;
    return maybe_exponent(l, q);
  }
  if (l.at(p) == '.') {
    size_t f = digits(l, p + 1);
    if (f != kNo) return maybe_exponent(l, f);
  }
  return kNo;
}

size_t expfloat(const Line &l, size_t p) {
  size_t d = digits(l, p);
  return d == kNo ? kNo : exponent(l, d);
}

size_t floatnumber(const Line &l, size_t p) {
  size_t e = pointfloat(l, p);
  return e != kNo ? e : expfloat(l, p);
}

bool is_j(char32_t c) { return c == 'j' || c == 'J'; }

size_t imagnumber(const Line &l, size_t p) {
  size_t d = digits(l, p);
  if (d != kNo && is_j(l.at(d))) return d + 1;
  size_t f = pointfloat(l, p);
  if (f != kNo && is_j(l.at(f))) return f + 1;
  f = expfloat(l, p);
  if (f != kNo && is_j(l.at(f))) return f + 1;
  return kNo;
}

size_t intnumber(const Line &l, size_t p) {
  if (l.at(p) == '0') {
    char32_t x = l.at(p + 1);
    size_t e = kNo;
    if (x == 'x' || x == 'X')
      e = grouped(l, p + 2, hexdigit);
    else if (x == 'b' || x == 'B')
      e = grouped(l, p + 2, [](char32_t c) { return c == '0' || c == '1'; });
    else if (x == 'o' || x == 'O')
      e = grouped(l, p + 2, [](char32_t c) { return c >= '0' && c <= '7'; });
    if (e != kNo) return e;
    size_t q = p + 1; // 0(?:_?0)*
    for (;;) {
      if (l.at(q) == '0')
        q++;
      else if (l.at(q) == '_' && l.at(q + 1) == '0')
        q += 2;
      else
        return q;
    }
  }
  if (l.at(p) >= '1' && l.at(p) <= '9') return digits(l, p);
  return kNo;
}

size_t number(const Line &l, size_t p) {
  size_t e = imagnumber(l, p);
  if (e != kNo) return e;
  e = floatnumber(l, p);
  if (e != kNo) return e;
  return intnumber(l, p);
}

size_t special(const Line &l, size_t p) {
  static const char *three[] = {">>=", "<<=", "**=", "//=", "..."};
  static const char *two[] = {"|=", "^=", "@=", ">>", ">=", "==", "<=", "<<", ":=", "/=",
                              "//", "->", "-=", "+=", "*=", "**", "&=", "%=", "!="};
  static const char one[] = "~}|{^][@>=<;:/.-,+*)(&%";
  auto is = [&](const char *op, size_t n) {
    for (size_t k = 0; k < n; k++)
      if (l.at(p + k) != char32_t((unsigned char)op[k])) return false;
    return true;
  };
  for (const char *op : three)
    if (is(op, 3)) return p + 3;
  for (const char *op : two)
    if (is(op, 2)) return p + 2;
  for (const char *c = one; *c; c++)
    if (l.at(p) == char32_t(*c)) return p + 1;
  return kNo;
}

size_t funny(const Line &l, size_t p) {
  if (l.at(p) == '\n') return p + 1;
  if (l.at(p) == '\r' && l.at(p + 1) == '\n') return p + 2;
  return special(l, p);
}

bool prefix_char(char32_t c) {
  switch (c) {
  case 'b': case 'B': case 'r': case 'R': case 'u': case 'U': case 'f': case 'F': return true;
  default: return false;
  }
}

// Whether s[0..n) is one of tokenize's string prefixes (any case, any order).
bool valid_prefix(const char32_t *s, size_t n) {
  if (n == 0) return true;
  auto low = [](char32_t c) { return c | 0x20; };
  if (n == 1) return prefix_char(s[0]);
  if (n == 2) {
    char32_t a = low(s[0]), b = low(s[1]);
    if (a > b) std::swap(a, b);
    return (a == 'b' && b == 'r') || (a == 'f' && b == 'r');
  }
  return false;
}

// StringPrefix: the longest run of prefix letters at p that is a valid prefix and is
// followed by a quote. Returns the quote's index or kNo.
size_t string_start(const Line &l, size_t p) {
  for (size_t n = 0; n <= 2; n++) {
    if (n > 0 && !prefix_char(l.at(p + n - 1))) return kNo;
    char32_t q = l.at(p + n);
    if ((q == '\'' || q == '"') && valid_prefix(l.s + p, n)) return p + n;
  }
  return kNo;
}

size_t triple(const Line &l, size_t p) {
  size_t q = string_start(l, p);
  if (q == kNo) return kNo;
  char32_t c = l.at(q);
  return (l.at(q + 1) == c && l.at(q + 2) == c) ? q + 3 : kNo;
}

// ContStr: a one-line string, or its first line when it ends in a backslash-newline.
size_t contstr(const Line &l, size_t p) {
  size_t q = string_start(l, p);
  if (q == kNo) return kNo;
  char32_t quote = l.at(q);
  size_t i = q + 1;
  while (l.has(i)) {
    char32_t c = l.at(i);
    if (c == quote) return i + 1;
    if (c == '\n') return kNo;
    if (c == '\\') {
      if (l.at(i + 1) == '\n') return i + 2;
      if (l.at(i + 1) == '\r' && l.at(i + 2) == '\n') return i + 3;
      if (!l.has(i + 1)) return kNo;
      i += 2;
      continue;
    }
    i++;
  }
  return kNo;
}

// The rest of a string after its opening quote(s): Single/Double (one quote) or
// Single3/Double3. Returns the end of the closing quote(s) or kNo.
size_t endpat(const Line &l, size_t p, char32_t quote, bool three) {
  size_t i = p;
  while (l.has(i)) {
    char32_t c = l.at(i);
    if (c == '\\') {
      if (!l.has(i + 1) || l.at(i + 1) == '\n') return kNo;
      i += 2;
      continue;
    }
    if (c == quote) {
      if (!three) return i + 1;
      if (l.at(i + 1) == quote && l.at(i + 2) == quote) return i + 3;
    }
    i++;
  }
  return kNo;
}

// PseudoToken = Whitespace + group(PseudoExtras, Number, Funny, ContStr, Name).
// Returns true with the group's span, false when nothing matches.
bool pseudo(const Line &l, size_t pos, size_t &start, size_t &end) {
  size_t s = pos;
  while (l.has(s) && (l.at(s) == ' ' || l.at(s) == '\f' || l.at(s) == '\t')) s++;
  start = s;
  if (l.at(s) == '\\') {
    if (l.at(s + 1) == '\n') return end = s + 2, true;
    if (l.at(s + 1) == '\r' && l.at(s + 2) == '\n') return end = s + 3, true;
  }
  if (s == l.n) return end = s, true; // \Z
  if (l.at(s) == '#') {
    size_t e = s + 1;
    while (l.has(e) && l.at(e) != '\r' && l.at(e) != '\n') e++;
    return end = e, true;
  }
  size_t e;
  char32_t c = l.at(s);
  // Fast paths with the same outcome as the ordered alternatives below: a word
  // character that is no digit can only start a string (after a prefix) or a name,
  // and a quote only a string.
  if ((c != '.' && !digit(c) && is_word(c)) || c == '\'' || c == '"') {
    if (c == '\'' || c == '"' || prefix_char(c)) {
      if ((e = triple(l, s)) != kNo) return end = e, true;
      if ((e = contstr(l, s)) != kNo) return end = e, true;
    }
    if (!is_word(c)) return false;
    e = s;
    while (l.has(e) && is_word(l.at(e))) e++;
    return end = e, true;
  }
  if ((e = triple(l, s)) != kNo) return end = e, true;
  if ((e = number(l, s)) != kNo) return end = e, true;
  if ((e = funny(l, s)) != kNo) return end = e, true;
  if ((e = contstr(l, s)) != kNo) return end = e, true;
  if (is_word(l.at(s)) && l.has(s)) {
    e = s;
    while (l.has(e) && is_word(l.at(e))) e++;
    return end = e, true;
  }
  return false;
}

bool is_triple_token(const char32_t *s, size_t n) {
  if (n < 3) return false;
  char32_t q = s[n - 1];
  if ((q != '\'' && q != '"') || s[n - 2] != q || s[n - 3] != q) return false;
  return valid_prefix(s, n - 3);
}

bool is_single_start(const char32_t *s, size_t n) {
  for (size_t k = 1; k <= 3 && k <= n; k++) {
    char32_t q = s[k - 1];
    if ((q == '\'' || q == '"') && valid_prefix(s, k - 1)) return true;
  }
  return false;
}

std::string char_repr(char32_t c) {
  char buf[32];
  snprintf(buf, sizeof buf, "%04X", unsigned(c));
  return buf;
}

class Tokenizer {
public:
  Tokenizer(const Text &t, const TokenizeLimits &lim, TokenizeResult &r)
      : text_(t), lim_(lim), out_(r) {}
  bool run();

private:
  const Text &text_;
  const TokenizeLimits &lim_;
  TokenizeResult &out_;
  // C tokenizer state for the compiler's errors.
  struct Open {
    char32_t c;
    long line, col;
  };
  std::vector<Open> parens_;
  std::vector<uint32_t> cind_{0}, caltind_{0};

  void emit(Tok t, size_t line_off, uint32_t srow, uint32_t scol, uint32_t erow, uint32_t ecol,
            size_t off, size_t len) {
    (void)line_off;
    out_.tokens.push_back(Token{t, srow, scol, erow, ecol, off, len});
  }
  void issue(const std::string &m, long line, long col) {
    if (!out_.syntax_error.present()) out_.syntax_error = SyntaxIssue{m, line, col};
  }
  void c_indent(const Line &l, uint32_t lnum);
  void c_bracket(char32_t c, uint32_t lnum, uint32_t col);
  void c_errortoken(const Line &l, uint32_t lnum, size_t pos);
  void c_name(const Line &l, uint32_t lnum, size_t start, size_t end);
  void c_after_number(const Token &tok);
};

// The C tokenizer refuses a number run into a name or another number, except before
// the keywords it lets through with a warning.
void Tokenizer::c_after_number(const Token &tok) {
  if (out_.tokens.size() < 2) return;
  const Token &num = out_.tokens[out_.tokens.size() - 2];
  if (num.type != Tok::NUMBER || num.erow != tok.srow || num.ecol != tok.scol) return;
  const char32_t *n = text_.data() + num.off;
  const char32_t *t = text_.data() + tok.off;
  auto starts = [&](const char *kw) {
    size_t k = 0;
    for (; kw[k]; k++)
      if (k >= tok.len || t[k] != char32_t((unsigned char)kw[k])) return false;
    return true;
  };
  bool zeros = true;
  for (size_t k = 0; k < num.len; k++) zeros &= n[k] == '0' || n[k] == '_';
  char32_t last = n[num.len - 1] | 0x20;
  if (tok.type == Tok::NUMBER) {
    if (zeros && digit(t[0]))
      issue("leading zeros in decimal integer literals are not permitted; use an 0o prefix "
            "for octal integers",
            tok.srow, long(num.scol) + 1);
    else if (last == 'j' && digit(t[0]))
      issue("invalid imaginary literal", tok.srow, long(tok.scol));
    return;
  }
  if (tok.type != Tok::NAME) return;
  for (const char *kw : {"and", "else", "for", "if", "in", "is", "not", "or"})
    if (starts(kw)) return;
  std::string kind = "decimal";
  char32_t x = num.len > 1 ? n[1] | 0x20 : 0;
  if (num.len > 1 && n[0] == '0' && x == 'x') kind = "hexadecimal";
  else if (num.len > 1 && n[0] == '0' && x == 'o') kind = "octal";
  else if (num.len > 1 && n[0] == '0' && x == 'b') kind = "binary";
  else if (last == 'j') kind = "imaginary";
  if (zeros && num.len == 1 && tok.len >= 1) {
    char32_t p = t[0] | 0x20;
    if (p == 'x') {
      issue("invalid hexadecimal literal", tok.srow, long(tok.scol) + 1);
      return;
    }
    if ((p == 'o' || p == 'b') && tok.len >= 2 && digit(t[1])) {
      std::string d(1, char(t[1]));
      issue("invalid digit '" + d + "' in " + (p == 'o' ? "octal" : "binary") + " literal",
            tok.srow, long(tok.scol) + 2);
      return;
    }
  }
  // After a digit, '_' is a separator that must be followed by a digit.
  long col = long(tok.scol) + (t[0] == '_' && digit(n[num.len - 1]) ? 1 : 0);
  issue("invalid " + kind + " literal", tok.srow, col);
}

void Tokenizer::c_indent(const Line &l, uint32_t lnum) {
  uint32_t col = 0, alt = 0;
  for (size_t i = 0; i < l.n; i++) {
    char32_t c = l.at(i);
    if (c == ' ')
      col++, alt++;
    else if (c == '\t')
      col = (col / kTabSize + 1) * kTabSize, alt++;
    else if (c == '\f')
      col = alt = 0;
    else
      break;
  }
  size_t limit = std::min<size_t>(kMaxIndent, lim_.max_depth);
  if (col == cind_.back()) {
    if (alt != caltind_.back())
      issue("inconsistent use of tabs and spaces in indentation", lnum, 1);
  } else if (col > cind_.back()) {
    if (cind_.size() >= limit) {
      issue(limit == kMaxIndent ? "too many levels of indentation"
                                : "indentation deeper than the limit (" +
                                      std::to_string(lim_.max_depth) + ")",
            lnum, 1);
    }
    if (alt <= caltind_.back())
      issue("inconsistent use of tabs and spaces in indentation", lnum, 1);
    cind_.push_back(col);
    caltind_.push_back(alt);
  } else {
    while (cind_.size() > 1 && col < cind_.back()) {
      cind_.pop_back();
      caltind_.pop_back();
    }
    if (col != cind_.back()) {
      size_t len = l.n;
      issue("unindent does not match any outer indentation level", lnum, long(len));
    } else if (alt != caltind_.back()) {
      issue("inconsistent use of tabs and spaces in indentation", lnum, 1);
    }
  }
}

void Tokenizer::c_bracket(char32_t c, uint32_t lnum, uint32_t col) {
  if (c == '(' || c == '[' || c == '{') {
    size_t limit = std::min<size_t>(kMaxLevel, lim_.max_depth);
    if (parens_.size() >= limit)
      issue(limit == kMaxLevel ? "too many nested parentheses"
                               : "nesting deeper than the limit (" +
                                     std::to_string(lim_.max_depth) + ")",
            lnum, col + 1);
    parens_.push_back(Open{c, lnum, long(col)});
    return;
  }
  std::string close(1, char(c));
  if (parens_.empty()) {
    issue("unmatched '" + close + "'", lnum, col + 1);
    return;
  }
  Open o = parens_.back();
  parens_.pop_back();
  char32_t want = o.c == '(' ? ')' : o.c == '[' ? ']' : '}';
  if (c != want) {
    std::string m = "closing parenthesis '" + close + "' does not match opening parenthesis '" +
                    std::string(1, char(o.c)) + "'";
    if (o.line != long(lnum)) m += " on line " + std::to_string(o.line);
    issue(m, lnum, col + 1);
  }
}

void Tokenizer::c_errortoken(const Line &l, uint32_t lnum, size_t pos) {
  char32_t c = l.at(pos);
  if (c == ' ' || c == '\t' || c == '\f') return;
  if (c == '\'' || c == '"') {
    size_t start = pos;
    // A string prefix was tokenized as a NAME just before the quote.
    if (!out_.tokens.empty()) {
      const Token &p = out_.tokens.back();
      if (p.type == Tok::NAME && p.erow == lnum && p.ecol == pos &&
          valid_prefix(text_.data() + p.off, p.len))
        start = p.scol;
    }
    issue("unterminated string literal (detected at line " + std::to_string(lnum) + ")", lnum,
          long(start) + 1);
    return;
  }
  if (c == '\\') {
    issue("unexpected character after line continuation character", lnum, long(pos) + 2);
    return;
  }
  if (c == '\r') return;
  // A combining mark continues the identifier before it for the compiler, though
  // tokenize's \w stops there.
  if (is_id_continue(c) && !out_.tokens.empty()) {
    const Token &p = out_.tokens.back();
    if ((p.type == Tok::NAME || p.type == Tok::ERRORTOKEN) && p.erow == lnum && p.ecol == pos)
      return;
  }
  if (c < 0x80 && is_printable(c)) {
    issue("invalid syntax", lnum, long(pos) + 1);
    return;
  }
  if (!is_printable(c)) {
    issue("invalid non-printable character U+" + char_repr(c), lnum, long(pos) + 1);
    return;
  }
  std::string m = "invalid character '";
  append_utf8(m, c);
  issue(m + "' (U+" + char_repr(c) + ")", lnum, long(pos) + 1);
}

void Tokenizer::c_name(const Line &l, uint32_t lnum, size_t start, size_t end) {
  for (size_t i = start; i < end; i++) {
    char32_t c = l.at(i);
    bool ok = i == start ? is_id_start(c) : is_id_continue(c);
    if (ok) continue;
    if (c < 0x80) return; // an ASCII digit run: the number checks own that
    std::string m = is_printable(c) ? "invalid character '" : "invalid non-printable character U+";
    if (is_printable(c)) {
      append_utf8(m, c);
      m += "' (U+" + char_repr(c) + ")";
    } else {
      m += char_repr(c);
    }
    issue(m, lnum, long(i) + 1);
    return;
  }
}

bool Tokenizer::run() {
  // Lines as BytesIO.readline gives them: split after each '\n'.
  std::vector<size_t> starts;
  starts.push_back(0);
  for (size_t i = 0; i < text_.size(); i++)
    if (text_[i] == '\n') starts.push_back(i + 1);
  size_t nlines = starts.size(); // the last entry may be an empty tail
  auto line_at = [&](size_t idx, size_t &off) -> Line {
    if (idx >= nlines) {
      off = text_.size();
      return Line{text_.data() + text_.size(), 0};
    }
    off = starts[idx];
    size_t end = idx + 1 < nlines ? starts[idx + 1] : text_.size();
    return Line{text_.data() + off, end - off};
  };

  uint32_t lnum = 0;
  long parenlev = 0;
  bool continued = false;
  std::vector<uint32_t> indents{0};
  bool in_str = false, needcont = false;
  size_t str_off = 0;    // contstr starts here in the text
  uint32_t str_row = 0, str_col = 0;
  char32_t str_quote = 0;
  bool str_three = false;
  Line last_line{text_.data(), 0}, line{text_.data(), 0};
  size_t line_off = 0;

  for (size_t idx = 0;; idx++) {
    if ((idx & 1023) == 0 && lim_.interrupted && lim_.interrupted()) return false;
    last_line = line;
    line = line_at(idx, line_off);
    lnum++;
    size_t pos = 0, max = line.n;

    if (in_str) {
      if (!line.n) {
        out_.tokenize_error = {"EOF in multi-line string", long(str_row), long(str_col)};
        issue(std::string(str_three ? "unterminated triple-quoted string literal"
                                    : "unterminated string literal") +
                  " (detected at line " + std::to_string(lnum - 1) + ")",
              str_row, long(str_col) + 1);
        return true;
      }
      size_t end = endpat(line, 0, str_quote, str_three);
      if (end != kNo) {
        pos = end;
        emit(Tok::STRING, line_off, str_row, str_col, lnum, uint32_t(end), str_off,
             line_off + end - str_off);
        in_str = needcont = false;
      } else if (needcont && !(line.n >= 2 && line.at(line.n - 2) == '\\' &&
                               line.at(line.n - 1) == '\n') &&
                 !(line.n >= 3 && line.at(line.n - 3) == '\\' && line.at(line.n - 2) == '\r' &&
                   line.at(line.n - 1) == '\n')) {
        emit(Tok::ERRORTOKEN, line_off, str_row, str_col, lnum, uint32_t(line.n), str_off,
             line_off + line.n - str_off);
        issue("unterminated string literal (detected at line " + std::to_string(lnum) + ")",
              str_row, long(str_col) + 1);
        in_str = false;
        continue;
      } else {
        continue;
      }
    } else if (parenlev == 0 && !continued) {
      if (!line.n) break;
      uint32_t column = 0;
      while (pos < max) {
        char32_t c = line.at(pos);
        if (c == ' ')
          column++;
        else if (c == '\t')
          column = (column / kTabSize + 1) * kTabSize;
        else if (c == '\f')
          column = 0;
        else
          break;
        pos++;
      }
      if (pos == max) break;
      char32_t c = line.at(pos);
      if (c == '#' || c == '\r' || c == '\n') {
        if (c == '#') {
          size_t e = max;
          while (e > pos && (line.at(e - 1) == '\r' || line.at(e - 1) == '\n')) e--;
          emit(Tok::COMMENT, line_off, lnum, uint32_t(pos), lnum, uint32_t(e), line_off + pos,
               e - pos);
          pos = e;
        }
        emit(Tok::NL, line_off, lnum, uint32_t(pos), lnum, uint32_t(max), line_off + pos,
             max - pos);
        continue;
      }
      if (parens_.empty()) c_indent(line, lnum);
      if (column > indents.back()) {
        indents.push_back(column);
        emit(Tok::INDENT, line_off, lnum, 0, lnum, uint32_t(pos), line_off, pos);
      }
      while (column < indents.back()) {
        bool found = false;
        for (uint32_t v : indents) found |= v == column;
        if (!found) {
          out_.tokenize_error = {"unindent does not match any outer indentation level",
                                 long(lnum), long(pos)};
          return true;
        }
        indents.pop_back();
        emit(Tok::DEDENT, line_off, lnum, uint32_t(pos), lnum, uint32_t(pos), line_off + pos, 0);
      }
    } else {
      if (!line.n) {
        out_.tokenize_error = {"EOF in multi-line statement", long(lnum), 0};
        if (!parens_.empty()) {
          const Open &o = parens_.back();
          issue("'" + std::string(1, char(o.c)) + "' was never closed", o.line, o.col + 1);
        } else {
          issue("unexpected EOF while parsing", long(lnum) - 1, long(last_line.n));
        }
        return true;
      }
      continued = false;
    }

    while (pos < max) {
      size_t start, end;
      if (!pseudo(line, pos, start, end)) {
        c_errortoken(line, lnum, pos);
        emit(Tok::ERRORTOKEN, line_off, lnum, uint32_t(pos), lnum, uint32_t(pos + 1),
             line_off + pos, 1);
        pos++;
        continue;
      }
      pos = end;
      if (start == end) continue;
      const char32_t *tok = line.s + start;
      size_t tlen = end - start;
      char32_t initial = tok[0];
      auto is_dots = [&]() {
        return tlen == 1 || (tlen == 3 && tok[1] == '.' && tok[2] == '.');
      };
      if (digit(initial) || (initial == '.' && !is_dots())) {
        emit(Tok::NUMBER, line_off, lnum, uint32_t(start), lnum, uint32_t(end), line_off + start,
             tlen);
        c_after_number(out_.tokens.back());
      } else if (initial == '\r' || initial == '\n') {
        emit(parenlev > 0 ? Tok::NL : Tok::NEWLINE, line_off, lnum, uint32_t(start), lnum,
             uint32_t(end), line_off + start, tlen);
      } else if (initial == '#') {
        emit(Tok::COMMENT, line_off, lnum, uint32_t(start), lnum, uint32_t(end), line_off + start,
             tlen);
      } else if (is_triple_token(tok, tlen)) {
        char32_t q = tok[tlen - 1];
        size_t e = endpat(line, pos, q, true);
        if (e != kNo) {
          pos = e;
          emit(Tok::STRING, line_off, lnum, uint32_t(start), lnum, uint32_t(e), line_off + start,
               e - start);
        } else {
          in_str = true;
          needcont = false;
          str_three = true;
          str_quote = q;
          str_row = lnum;
          str_col = uint32_t(start);
          str_off = line_off + start;
          break;
        }
      } else if (is_single_start(tok, tlen)) {
        if (tok[tlen - 1] == '\n') {
          size_t k = 0;
          while (tok[k] != '\'' && tok[k] != '"') k++;
          in_str = true;
          needcont = true;
          str_three = false;
          str_quote = tok[k];
          str_row = lnum;
          str_col = uint32_t(start);
          str_off = line_off + start;
          break;
        }
        emit(Tok::STRING, line_off, lnum, uint32_t(start), lnum, uint32_t(end), line_off + start,
             tlen);
      } else if (is_id_start(initial)) {
        c_name(line, lnum, start, end);
        emit(Tok::NAME, line_off, lnum, uint32_t(start), lnum, uint32_t(end), line_off + start,
             tlen);
        c_after_number(out_.tokens.back());
      } else if (initial == '\\') {
        continued = true;
      } else {
        if (initial == '(' || initial == '[' || initial == '{') {
          parenlev++;
          c_bracket(initial, lnum, uint32_t(start));
        } else if (initial == ')' || initial == ']' || initial == '}') {
          parenlev--;
          c_bracket(initial, lnum, uint32_t(start));
        } else if (initial >= 0x80) {
          c_name(line, lnum, start, end);
        }
        emit(Tok::OP, line_off, lnum, uint32_t(start), lnum, uint32_t(end), line_off + start,
             tlen);
      }
    }
  }

  // The implicit NEWLINE when the input does not end in one.
  if (last_line.n) {
    char32_t lc = last_line.at(last_line.n - 1);
    size_t a = 0, b = last_line.n;
    while (a < b && is_space(last_line.at(a))) a++;
    while (b > a && is_space(last_line.at(b - 1))) b--;
    bool comment = a < b && last_line.at(a) == '#';
    if (lc != '\r' && lc != '\n' && !comment) {
      uint32_t n = uint32_t(last_line.n);
      emit(Tok::NEWLINE, 0, lnum - 1, n, lnum - 1, n + 1, text_.size(), 0);
    }
  }
  for (size_t k = 1; k < indents.size(); k++)
    emit(Tok::DEDENT, 0, lnum, 0, lnum, 0, text_.size(), 0);
  emit(Tok::ENDMARKER, 0, lnum, 0, lnum, 0, text_.size(), 0);
  if (!parens_.empty() && !out_.syntax_error.present()) {
    const Open &o = parens_.back();
    issue("'" + std::string(1, char(o.c)) + "' was never closed", o.line, o.col + 1);
  }
  return true;
}

} // namespace

const char *tok_name(Tok t) {
  static const char *names[] = {"ENDMARKER", "NAME", "NUMBER", "STRING", "NEWLINE", "INDENT",
                                "DEDENT", "OP", "ERRORTOKEN", "COMMENT", "NL", "ENCODING"};
  return names[static_cast<int>(t)];
}

bool tokenize(const Text &text, TokenizeLimits const &limits, TokenizeResult &out) {
  out.tokens.clear();
  out.tokens.reserve(text.size() / 4 + 16);
  out.tokens.push_back(Token{Tok::ENCODING, 0, 0, 0, 0, 0, 0});
  Tokenizer t(text, limits, out);
  return t.run();
}

} // namespace weir
