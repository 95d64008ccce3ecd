// tokenize.py's control flow, with its regular expressions as small matchers. Each
// matcher returns the end of its match or kNo, following the regex's own order of
// alternatives (not longest match) where that matters. On ASCII lines a fast path
// (ascii_tokens) takes the common tokens by their first character, with the outcome the
// ordered alternatives give them; everything else goes through the matchers.
#include "tokenizer.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <type_traits>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace weir {
namespace {

constexpr size_t kNo = size_t(-1);
constexpr uint32_t kTabSize = 8;
constexpr size_t kMaxLevel = 200;  // the C tokenizer's MAXLEVEL
constexpr size_t kMaxIndent = 100; // and MAXINDENT

// A line of only ASCII: matched in place, positions are byte offsets.
struct AsciiLine {
  const unsigned char *s;
  size_t n;        // characters = bytes
  size_t readable; // s[0, readable) can be read: the line and the text after it
  char32_t at(size_t i) const { return i < n ? s[i] : 0; }
  bool has(size_t i) const { return i < n; }
  size_t byte(size_t i) const { return i; }
};

// A line with other characters, decoded into scratch; `bytes[i]` is the byte offset
// of character i in the line (bytes[n] its length).
struct WideLine {
  const char32_t *s;
  size_t n;
  const uint32_t *bytes;
  char32_t at(size_t i) const { return i < n ? s[i] : 0; }
  bool has(size_t i) const { return i < n; }
  size_t byte(size_t i) const { return bytes[i]; }
};

bool digit(char32_t c) { return c >= '0' && c <= '9'; }
bool hexdigit(char32_t c) {
  return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// [0-9](?:_?[0-9])*
template <class Line> size_t digits(const Line &l, size_t p) {
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
template <class Line, class F> size_t grouped(const Line &l, size_t p, F in_class) {
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

template <class Line> size_t exponent(const Line &l, size_t p) {
  if (l.at(p) != 'e' && l.at(p) != 'E') return kNo;
  p++;
  if (l.at(p) == '-' || l.at(p) == '+') p++;
  return digits(l, p);
}

template <class Line> size_t maybe_exponent(const Line &l, size_t p) {
  size_t e = exponent(l, p);
  return e == kNo ? p : e;
}

template <class Line> size_t pointfloat(const Line &l, size_t p) {
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

template <class Line> size_t expfloat(const Line &l, size_t p) {
  size_t d = digits(l, p);
  return d == kNo ? kNo : exponent(l, d);
}

template <class Line> size_t floatnumber(const Line &l, size_t p) {
  size_t e = pointfloat(l, p);
  return e != kNo ? e : expfloat(l, p);
}

bool is_j(char32_t c) { return c == 'j' || c == 'J'; }

template <class Line> size_t imagnumber(const Line &l, size_t p) {
  size_t d = digits(l, p);
  if (d != kNo && is_j(l.at(d))) return d + 1;
  size_t f = pointfloat(l, p);
  if (f != kNo && is_j(l.at(f))) return f + 1;
  f = expfloat(l, p);
  if (f != kNo && is_j(l.at(f))) return f + 1;
  return kNo;
}

template <class Line> size_t intnumber(const Line &l, size_t p) {
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

template <class Line> size_t number(const Line &l, size_t p) {
  size_t e = imagnumber(l, p);
  if (e != kNo) return e;
  e = floatnumber(l, p);
  if (e != kNo) return e;
  return intnumber(l, p);
}

// Special: the operators, longest first (three characters, then two, then one), as
// the regex's alternatives order them; only one operator of each length can match.
template <class Line> size_t special(const Line &l, size_t p) {
  char32_t a = l.at(p), b = l.at(p + 1), c = l.at(p + 2);
  switch (a) {
  case '>': case '<': case '*': case '/': // >>= <<= **= //=, >> << ** //, >= <= *= /=
    if (b == a) return c == '=' ? p + 3 : p + 2;
    return b == '=' ? p + 2 : p + 1;
  case '.': return (b == '.' && c == '.') ? p + 3 : p + 1;
  case '|': case '^': case '@': case '=': case '&': case '%': case '+': case ':':
    return b == '=' ? p + 2 : p + 1;
  case '-': return (b == '=' || b == '>') ? p + 2 : p + 1;
  case '!': return b == '=' ? p + 2 : kNo;
  case '~': case '}': case '{': case ']': case '[': case ';': case ',': case ')': case '(':
    return p + 1;
  default: return kNo;
  }
}

template <class Line> size_t funny(const Line &l, size_t p) {
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
template <class C> bool valid_prefix(const C *s, size_t n) {
  if (n == 0) return true;
  auto low = [](char32_t c) { return c | 0x20; };
  if (s[0] >= 0x80 || (n == 2 && s[1] >= 0x80)) return false;
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
template <class Line> size_t string_start(const Line &l, size_t p) {
  for (size_t n = 0; n <= 2; n++) {
    if (n > 0 && !prefix_char(l.at(p + n - 1))) return kNo;
    char32_t q = l.at(p + n);
    if ((q == '\'' || q == '"') && valid_prefix(l.s + p, n)) return p + n;
  }
  return kNo;
}

template <class Line> size_t triple(const Line &l, size_t p) {
  size_t q = string_start(l, p);
  if (q == kNo) return kNo;
  char32_t c = l.at(q);
  return (l.at(q + 1) == c && l.at(q + 2) == c) ? q + 3 : kNo;
}

// ContStr: a one-line string, or its first line when it ends in a backslash-newline.
template <class Line> size_t contstr(const Line &l, size_t p) {
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

// From i, to the first `quote` or backslash, or the line's end: 16 bytes a step on an
// ASCII line (a wide line is stepped a character at a time by the caller).
template <class Line> size_t skip_plain(const Line &l, size_t i, char32_t quote) {
#if defined(__SSE2__)
  if constexpr (std::is_same_v<Line, AsciiLine>) {
    const __m128i q = _mm_set1_epi8(char(quote)), backslash = _mm_set1_epi8('\\');
    for (; i + 16 <= l.readable; i += 16) {
      __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i *>(l.s + i));
      unsigned m = unsigned(
          _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(c, q), _mm_cmpeq_epi8(c, backslash))));
      if (m) return std::min(i + unsigned(__builtin_ctz(m)), l.n);
      if (i + 16 >= l.n) return l.n;
    }
  }
#endif
  return i;
}

// The rest of a string after its opening quote(s): Single/Double (one quote) or
// Single3/Double3. Returns the end of the closing quote(s) or kNo.
template <class Line> size_t endpat(const Line &l, size_t p, char32_t quote, bool three) {
  size_t i = p;
  while ((i = skip_plain(l, i, quote)), l.has(i)) {
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

// A string that ends on the line it starts on, from p (its prefix or opening quote),
// as pseudo() and line_step() would take it; kNo for anything else, a string continued
// on the next line included.
template <class Line> size_t one_line_string(const Line &l, size_t p) {
  size_t q = string_start(l, p);
  if (q == kNo) return kNo;
  char32_t quote = l.at(q);
  if (l.at(q + 1) == quote && l.at(q + 2) == quote) return endpat(l, q + 3, quote, true);
  return endpat(l, q + 1, quote, false);
}

// PseudoToken = Whitespace + group(PseudoExtras, Number, Funny, ContStr, Name).
// Returns true with the group's span, false when nothing matches.
template <class Line> bool pseudo(const Line &l, size_t pos, size_t &start, size_t &end) {
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

// ASCII character classes for the scanner's fast paths, as bit flags.
enum : uint8_t {
  kBlank = 1, kWord = 2, kNameStart = 4, kDigit = 8, kOpStart = 16, kPrefix = 32, kBracket = 64,
  kOneChar = 128
};
struct AsciiClasses {
  uint8_t c[256] = {};
  constexpr AsciiClasses() {
    c[' '] = c['\t'] = c['\f'] = kBlank;
    for (int k = 'a'; k <= 'z'; k++) c[k] = c[k - 'a' + 'A'] = kWord | kNameStart;
    c['_'] = kWord | kNameStart;
    for (const char *p = "bBrRuUfF"; *p; p++) c[(unsigned char)*p] |= kPrefix;
    for (int k = '0'; k <= '9'; k++) c[k] = kWord | kDigit;
    // Every operator's first character but '.', which may start a number.
    for (const char *o = "<>*/|^@=&%+:-!~{}[]();,"; *o; o++) c[(unsigned char)*o] = kOpStart;
    for (const char *o = "()[]{}"; *o; o++) c[(unsigned char)*o] |= kBracket;
    for (const char *o = "()[]{};,~"; *o; o++) c[(unsigned char)*o] |= kOneChar;
  }
};
constexpr AsciiClasses kClass;

// The end of the run of word characters ([A-Za-z0-9_]) from s[i]; s[0, readable) can
// be read, and a byte that is no word character must end the run before that.
// 16 bytes a step while 16 can be read.
size_t word_end(const unsigned char *s, size_t i, size_t readable) {
#if defined(__SSE2__)
  for (; i + 16 <= readable; i += 16) {
    __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i *>(s + i));
    __m128i low = _mm_or_si128(c, _mm_set1_epi8(0x20)); // bytes >= 0x80 compare negative
    __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(low, _mm_set1_epi8('a' - 1)),
                                  _mm_cmplt_epi8(low, _mm_set1_epi8('z' + 1)));
    __m128i num = _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8('0' - 1)),
                                _mm_cmplt_epi8(c, _mm_set1_epi8('9' + 1)));
    __m128i word = _mm_or_si128(_mm_or_si128(alpha, num), _mm_cmpeq_epi8(c, _mm_set1_epi8('_')));
    unsigned mask = unsigned(_mm_movemask_epi8(word));
    if (mask != 0xFFFF) return i + unsigned(__builtin_ctz(~mask));
  }
#endif
  while (kClass.c[s[i]] & kWord) i++;
  return i;
}

// How many of s[0, n) are spaces from the start; s[0, readable) can be read. 16 bytes
// a step: indentation is mostly under 16 spaces, and a loop ending at an unpredictable
// count costs more than the few vector instructions.
size_t leading_spaces(const unsigned char *s, size_t n, size_t readable) {
  size_t i = 0;
#if defined(__SSE2__)
  for (; i + 16 <= readable; i += 16) {
    __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i *>(s + i));
    unsigned mask = unsigned(_mm_movemask_epi8(_mm_cmpeq_epi8(c, _mm_set1_epi8(' '))));
    if (mask != 0xFFFF) return std::min(i + unsigned(__builtin_ctz(~mask)), n);
  }
#endif
  while (i < readable && s[i] == ' ') i++;
  return std::min(i, n);
}

// Bit i set where p[i] is '\n', for the n <= 64 bytes from p.
uint64_t newline_mask(const unsigned char *p, size_t n) {
  uint64_t mask = 0;
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i nl = _mm_set1_epi8('\n');
  for (; i + 16 <= n; i += 16) {
    __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p + i));
    mask |= uint64_t(unsigned(_mm_movemask_epi8(_mm_cmpeq_epi8(c, nl)))) << i;
  }
#endif
  for (; i < n; i++) mask |= uint64_t(p[i] == '\n') << i;
  return mask;
}

// Whether a string may start at p (p + 1 < n): a prefix letter or two, then a quote.
// Without branches (bitwise, not logical, operators): whether a name starts with b, f,
// r or u is as hard to predict as anything in the source.
bool may_start_string(const unsigned char *s, size_t n, size_t p) {
  auto quote = [](unsigned char c) { return (c == '\'') | (c == '"'); };
  auto prefix = [](unsigned char c) { return (kClass.c[c] & kPrefix) != 0; };
  unsigned char a = s[p + 1], b = p + 2 < n ? s[p + 2] : 0;
  return prefix(s[p]) & (quote(a) | (prefix(a) & quote(b)));
}

template <class C> bool is_triple_token(const C *s, size_t n) {
  if (n < 3) return false;
  char32_t q = s[n - 1];
  if ((q != '\'' && q != '"') || s[n - 2] != q || s[n - 3] != q) return false;
  return valid_prefix(s, n - 3);
}

template <class C> bool is_single_start(const C *s, size_t n) {
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

} // namespace

// tokenize.py's loop, one physical line per step().
class TokenizerImpl {
public:
  TokenizerImpl(std::string_view t, const TokenizeLimits &lim, TokenizeResult &r)
      : text_(t), lim_(lim), out_(r), max_level_(std::min<size_t>(kMaxLevel, lim.max_depth)),
        wide_at_(skip_ascii(reinterpret_cast<const unsigned char *>(t.data()), 0, t.size())) {}
  bool step();
  bool done() const { return done_; }

private:
  std::string_view text_;
  const TokenizeLimits &lim_;
  TokenizeResult &out_;
  // C tokenizer state for the compiler's errors.
  struct Open {
    char32_t c;
    long line, col;
  };
  std::vector<Open> parens_;
  size_t max_level_; // the nesting limit: the C tokenizer's, or the caller's if lower
  std::vector<uint32_t> cind_{0}, caltind_{0};
  // Every token is written once, into the batch: the observer reads it in batches of
  // about kBatch tokens, the consumer reads each step's part of it (fresh_). The
  // batch is flushed only between steps, so a step's tokens stay together; it grows
  // past kBatch for a line with more tokens. The checks that look back read the last
  // two tokens there, or in `carry_` right after a flush.
  static constexpr size_t kBatch = 1024;
  // Room for kBatch tokens and a line of up to kBatch bytes (at most a token a byte)
  // after them: a batch grows only for a longer line. Not zeroed: written before read.
  std::unique_ptr<Token[]> batch_{new Token[2 * kBatch]};
  Token *buf_ = batch_.get();
  size_t capacity_ = 2 * kBatch;
  size_t batched_ = 0;
  size_t flushed_ = 0;   // tokens the batch has held before this one
  Token carry_[2] = {}; // the last two tokens of the batch flushed last
  size_t fresh_ = 0, fresh_end_ = 0; // the batch's tokens that the last step produced
  // Scratch for a line with non-ASCII characters.
  std::u32string wide_;
  std::vector<uint32_t> wide_bytes_;

  // Where the next line starts, and whether the stream is complete.
  size_t at_ = 0;
  size_t wide_at_ = 0; // the first byte at or after at_ that is not ASCII
  // The 64-byte block of the text last searched for line ends, and where its '\n' are:
  // lines are short, so most are found in the block of the line before.
  size_t nl_block_ = size_t(-1);
  uint64_t nl_mask_ = 0;
  size_t line_end(size_t at) {
    uint64_t m = (at & ~size_t(63)) == nl_block_ ? nl_mask_ >> (at & 63) : 0;
    return m ? at + size_t(__builtin_ctzll(m)) + 1 : line_end_slow(at);
  }
  size_t line_end_slow(size_t at);
  size_t number_end_ = size_t(-1); // the byte offset where the last NUMBER ended
  bool done_ = false;
  // tokenize.py's loop state.
  uint32_t lnum_ = 0;
  long parenlev_ = 0;
  bool continued_ = false;
  std::vector<uint32_t> indents_{0};
  bool in_str_ = false, needcont_ = false;
  // Indentation measured across backslash continuations (compiler_indents): the
  // columns so far, and the column of the first such line that had blanks.
  bool indent_cont_ = false;
  uint32_t cont_col_ = 0, cont_alt_ = 0, cont_first_ = 0;
  size_t str_off_ = 0; // contstr starts here in the text
  uint32_t str_row_ = 0, str_col_ = 0;
  char32_t str_quote_ = 0;
  bool str_three_ = false;
  size_t line_off_ = 0;     // the current line's byte offset
  size_t last_off_ = 0; // where the previous line starts (it ends at at_)
  // The previous line's length in characters.
  size_t last_chars() const {
    size_t n = 0;
    for (size_t i = last_off_; i < at_; i++) n += (text_[i] & 0xC0) != 0x80;
    return n;
  }

  enum class Step { Next, Stop, Done };

  void emit(Tok t, uint32_t srow, uint32_t scol, uint32_t erow, uint32_t ecol, size_t off,
            size_t len) {
    room(1);
    put(t, srow, scol, erow, ecol, off, len);
  }
  // emit() where the batch is known to have room.
  void put(Tok t, uint32_t srow, uint32_t scol, uint32_t erow, uint32_t ecol, size_t off,
           size_t len) {
    buf_[batched_++] = Token{t, srow, scol, erow, ecol, uint32_t(off), uint32_t(len)};
  }
  // Makes room for `n` more tokens in the batch.
  void room(size_t n) {
    if (capacity_ - batched_ >= n) return;
    capacity_ = std::max(capacity_ * 2, batched_ + n);
    std::unique_ptr<Token[]> grown(new Token[capacity_]);
    std::copy(buf_, buf_ + batched_, grown.get());
    batch_ = std::move(grown);
    buf_ = batch_.get();
  }
  void flush() {
    if (!batched_) return;
    if (lim_.observer) lim_.observer->tokens(buf_, batched_);
    carry_[0] = batched_ >= 2 ? buf_[batched_ - 2] : carry_[1];
    carry_[1] = buf_[batched_ - 1];
    flushed_ += batched_;
    batched_ = 0;
  }
  // The last token emitted and the one before it, if any.
  const Token *last() const {
    if (batched_) return &buf_[batched_ - 1];
    return flushed_ ? &carry_[1] : nullptr;
  }
  const Token *before_last() const {
    if (flushed_ + batched_ < 2) return nullptr;
    if (batched_ >= 2) return &buf_[batched_ - 2];
    return batched_ ? &carry_[1] : &carry_[0];
  }
  // After a NAME or NUMBER starting at byte `off`: the C tokenizer's checks of a
  // number run into it, when the token before is a number ending there.
  void after_number(size_t off) {
    if (off == number_end_) c_after_number(*last());
  }
  const unsigned char *bytes(const Token &t) const {
    return reinterpret_cast<const unsigned char *>(text_.data()) + t.off;
  }
  void issue(const std::string &m, long line, long col) {
    if (!out_.syntax_error.present()) out_.syntax_error = SyntaxIssue{m, line, col};
  }
  template <class Line> Step line_step(const Line &line);
  Step wide_step(const unsigned char *p, size_t n);
  Step eof_in_statement(uint32_t lnum);
  void c_indent(uint32_t col, uint32_t alt, uint32_t lnum, size_t len);
  template <class Line> void op_token(const Line &l, uint32_t lnum, size_t start, size_t end);
  size_t ascii_tokens(const AsciiLine &l, uint32_t lnum, size_t pos);
  void c_bracket(char32_t c, uint32_t lnum, uint32_t col);
  // A bracket that nests within the limit or closes its match, else c_bracket.
  void bracket(char32_t c, uint32_t lnum, uint32_t col) {
    if (c == '(' || c == '[' || c == '{') {
      parenlev_++;
      if (parens_.size() < max_level_) return parens_.push_back(Open{c, lnum, long(col)});
    } else {
      parenlev_--;
      char32_t want = c == ')' ? '(' : c == ']' ? '[' : '{';
      if (!parens_.empty() && parens_.back().c == want) return parens_.pop_back();
    }
    c_bracket(c, lnum, col);
  }
  template <class Line> void c_errortoken(const Line &l, uint32_t lnum, size_t pos);
  template <class Line> void c_name(const Line &l, uint32_t lnum, size_t start, size_t end);
  void c_after_number(const Token &tok);
  void finish();
  friend class TokenStream;
};

// The C tokenizer refuses a number run into a name or another number, except before
// the keywords it lets through with a warning.
void TokenizerImpl::c_after_number(const Token &tok) {
  const Token *before = before_last();
  if (!before) return;
  const Token &num = *before;
  if (num.type != Tok::NUMBER || num.erow != tok.srow || num.ecol != tok.scol) return;
  const unsigned char *n = bytes(num); // numbers are ASCII: bytes are characters
  const unsigned char *t = bytes(tok);
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

// `col` counts tabs to the next multiple of 8, `alt` as one column (the C tokenizer's
// check that both agree); `len` is the line's length in characters.
void TokenizerImpl::c_indent(uint32_t col, uint32_t alt, uint32_t lnum, size_t len) {
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
      issue("unindent does not match any outer indentation level", lnum, long(len));
    } else if (alt != caltind_.back()) {
      issue("inconsistent use of tabs and spaces in indentation", lnum, 1);
    }
  }
}

// A bracket the fast path in bracket() does not take: one too deep, or a closing one
// that matches no opening one. Reports the error and keeps the stack as CPython does.
void TokenizerImpl::c_bracket(char32_t c, uint32_t lnum, uint32_t col) {
  if (c == '(' || c == '[' || c == '{') {
    size_t limit = max_level_;
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

template <class Line> void TokenizerImpl::c_errortoken(const Line &l, uint32_t lnum, size_t pos) {
  char32_t c = l.at(pos);
  if (c == ' ' || c == '\t' || c == '\f') return;
  if (c == '\'' || c == '"') {
    size_t start = pos;
    // A string prefix was tokenized as a NAME just before the quote.
    if (const Token *p = last())
      if (p->type == Tok::NAME && p->erow == lnum && p->ecol == pos &&
          valid_prefix(bytes(*p), p->len))
        start = p->scol;
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
  if (is_id_continue(c))
    if (const Token *p = last())
      if ((p->type == Tok::NAME || p->type == Tok::ERRORTOKEN) && p->erow == lnum &&
          p->ecol == pos)
        return;
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

template <class Line>
void TokenizerImpl::c_name(const Line &l, uint32_t lnum, size_t start, size_t end) {
  // In an ASCII line a name is [A-Za-z_][A-Za-z0-9_]*: nothing to report.
  if constexpr (std::is_same_v<Line, AsciiLine>) return;
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

// Lines as BytesIO.readline gives them: split after each '\n'. Each is matched in
// place when it is ASCII, else through the scratch decoding. Returns false once the
// stream is complete (or interrupted).
bool TokenizerImpl::step() {
  if (batched_ >= kBatch) flush();
  fresh_ = fresh_end_ = batched_;
  if (done_) return false;
  if ((lnum_ & 1023) == 0 && lim_.interrupted && lim_.interrupted()) {
    done_ = true;
    return false;
  }
  const unsigned char *base = reinterpret_cast<const unsigned char *>(text_.data());
  size_t at = at_, end = line_end(at);
  bool ascii = end <= wide_at_;
  line_off_ = at;
  lnum_++;
  Step step = ascii ? line_step(AsciiLine{base + at, end - at, text_.size() - at})
                     : wide_step(base + at, end - at);
  if (step == Step::Stop) finish();
  fresh_end_ = batched_;
  if (step == Step::Next) {
    last_off_ = at;
    at_ = end;
    if (wide_at_ < end) wide_at_ = skip_ascii(base, end, text_.size());
    return true;
  }
  flush(); // the stream is complete: the observer sees the rest (fresh_ stays readable)
  done_ = true;
  return false;
}

// Where the line from `at` ends: after its '\n', or at the end of the text.
size_t TokenizerImpl::line_end_slow(size_t at) {
  const unsigned char *base = reinterpret_cast<const unsigned char *>(text_.data());
  const size_t n = text_.size();
  while (at < n) {
    size_t block = at & ~size_t(63);
    if (block != nl_block_) {
      nl_block_ = block;
      nl_mask_ = newline_mask(base + block, std::min<size_t>(64, n - block));
    }
    uint64_t m = nl_mask_ >> (at & 63);
    if (m) return at + size_t(__builtin_ctzll(m)) + 1;
    at = block + 64;
  }
  return n;
}

// The end of the text inside a statement: after a backslash continuation or inside
// brackets.
TokenizerImpl::Step TokenizerImpl::eof_in_statement(uint32_t lnum) {
  out_.tokenize_error = {"EOF in multi-line statement", long(lnum), 0};
  if (!parens_.empty()) {
    const Open &o = parens_.back();
    issue("'" + std::string(1, char(o.c)) + "' was never closed", o.line, o.col + 1);
  } else {
    issue("unexpected EOF while parsing", long(lnum) - 1, long(last_chars()));
  }
  return Step::Done;
}

// A line with other characters: decoded into the scratch first.
TokenizerImpl::Step TokenizerImpl::wide_step(const unsigned char *p, size_t n) {
  wide_.clear();
  wide_bytes_.clear();
  for (size_t i = 0; i < n;) {
    size_t len;
    wide_.push_back(decode_utf8(p + i, n - i, len));
    wide_bytes_.push_back(uint32_t(i));
    i += len;
  }
  wide_bytes_.push_back(uint32_t(n));
  return line_step(WideLine{wide_.data(), wide_.size(), wide_bytes_.data()});
}

template <class Line> TokenizerImpl::Step TokenizerImpl::line_step(const Line &line) {
  const uint32_t lnum = lnum_;
  size_t pos = 0, max = line.n;
  auto off = [&](size_t p) { return line_off_ + line.byte(p); };
  auto span = [&](size_t a, size_t b) { return line.byte(b) - line.byte(a); };

  if (in_str_) {
    if (!line.n) {
      out_.tokenize_error = {"EOF in multi-line string", long(str_row_), long(str_col_)};
      issue(std::string(str_three_ ? "unterminated triple-quoted string literal"
                                   : "unterminated string literal") +
                " (detected at line " + std::to_string(lnum - 1) + ")",
            str_row_, long(str_col_) + 1);
      return Step::Done;
    }
    size_t end = endpat(line, 0, str_quote_, str_three_);
    if (end != kNo) {
      pos = end;
      emit(Tok::STRING, str_row_, str_col_, lnum, uint32_t(end), str_off_, off(end) - str_off_);
      in_str_ = needcont_ = false;
    } else if (needcont_ && !(line.n >= 2 && line.at(line.n - 2) == '\\' &&
                              line.at(line.n - 1) == '\n') &&
               !(line.n >= 3 && line.at(line.n - 3) == '\\' && line.at(line.n - 2) == '\r' &&
                 line.at(line.n - 1) == '\n')) {
      emit(Tok::ERRORTOKEN, str_row_, str_col_, lnum, uint32_t(line.n), str_off_,
           off(line.n) - str_off_);
      issue("unterminated string literal (detected at line " + std::to_string(lnum) + ")",
            str_row_, long(str_col_) + 1);
      in_str_ = false;
      return Step::Next;
    } else {
      return Step::Next;
    }
  } else if (parenlev_ == 0 && !continued_) {
    if (!line.n) return indent_cont_ ? eof_in_statement(lnum) : Step::Stop;
    uint32_t column = cont_col_, alt = cont_alt_;
    if constexpr (std::is_same_v<Line, AsciiLine>) {
      pos = leading_spaces(line.s, max, line.readable);
      column += uint32_t(pos), alt += uint32_t(pos);
    }
    while (pos < max) {
      char32_t c = line.at(pos);
      if (c == ' ')
        column++, alt++;
      else if (c == '\t')
        column = (column / kTabSize + 1) * kTabSize, alt++;
      else if (c == '\f')
        column = alt = 0;
      else
        break;
      pos++;
    }
    if (pos == max) return indent_cont_ ? eof_in_statement(lnum) : Step::Stop;
    char32_t c = line.at(pos);
    if (lim_.compiler_indents && c == '\\' &&
        (line.at(pos + 1) == '\n' || (line.at(pos + 1) == '\r' && line.at(pos + 2) == '\n'))) {
      // The compiler goes on measuring on the next line; the first of these lines
      // with blanks gives the statement its indentation (if it has a statement).
      if (!cont_first_) cont_first_ = column;
      indent_cont_ = true, cont_col_ = column, cont_alt_ = alt;
      return Step::Next;
    }
    if (indent_cont_) {
      if (cont_first_) column = alt = cont_first_;
      indent_cont_ = false, cont_col_ = cont_alt_ = cont_first_ = 0;
    }
    if (c == '#' || c == '\r' || c == '\n') {
      if (c == '#') {
        size_t e = max;
        while (e > pos && (line.at(e - 1) == '\r' || line.at(e - 1) == '\n')) e--;
        emit(Tok::COMMENT, lnum, uint32_t(pos), lnum, uint32_t(e), off(pos), span(pos, e));
        pos = e;
      }
      emit(Tok::NL, lnum, uint32_t(pos), lnum, uint32_t(max), off(pos), span(pos, max));
      return Step::Next;
    }
    if (parens_.empty() && (column != cind_.back() || alt != caltind_.back()))
      c_indent(column, alt, lnum, line.n);
    if (column > indents_.back()) {
      indents_.push_back(column);
      emit(Tok::INDENT, lnum, 0, lnum, uint32_t(pos), off(0), span(0, pos));
    }
    while (column < indents_.back()) {
      bool found = false;
      for (uint32_t v : indents_) found |= v == column;
      if (!found) {
        out_.tokenize_error = {"unindent does not match any outer indentation level",
                               long(lnum), long(pos)};
        return Step::Done;
      }
      indents_.pop_back();
      emit(Tok::DEDENT, lnum, uint32_t(pos), lnum, uint32_t(pos), off(pos), 0);
    }
  } else {
    if (!line.n) return eof_in_statement(lnum);
    continued_ = false;
  }
  while (pos < max) {
    if constexpr (std::is_same_v<Line, AsciiLine>)
      if ((pos = ascii_tokens(line, lnum, pos)) == max) break;
    size_t start, end;
    if (!pseudo(line, pos, start, end)) {
      c_errortoken(line, lnum, pos);
      emit(Tok::ERRORTOKEN, lnum, uint32_t(pos), lnum, uint32_t(pos + 1), off(pos),
           span(pos, pos + 1));
      pos++;
      continue;
    }
    pos = end;
    if (start == end) continue;
    const auto *tok = line.s + start;
    size_t tlen = end - start;
    char32_t initial = tok[0];
    auto is_dots = [&]() { return tlen == 1 || (tlen == 3 && tok[1] == '.' && tok[2] == '.'); };
    if (digit(initial) || (initial == '.' && !is_dots())) {
      emit(Tok::NUMBER, lnum, uint32_t(start), lnum, uint32_t(end), off(start), span(start, end));
      after_number(off(start));
      number_end_ = off(end);
    } else if (initial == '\r' || initial == '\n') {
      emit(parenlev_ > 0 ? Tok::NL : Tok::NEWLINE, lnum, uint32_t(start), lnum, uint32_t(end),
           off(start), span(start, end));
    } else if (initial == '#') {
      emit(Tok::COMMENT, lnum, uint32_t(start), lnum, uint32_t(end), off(start),
           span(start, end));
    } else if (is_triple_token(tok, tlen)) {
      char32_t q = tok[tlen - 1];
      size_t e = endpat(line, pos, q, true);
      if (e != kNo) {
        pos = e;
        emit(Tok::STRING, lnum, uint32_t(start), lnum, uint32_t(e), off(start), span(start, e));
      } else {
        in_str_ = true; // needcont_ stays: tokenize.py clears it only when a string ends
        str_three_ = true;
        str_quote_ = q;
        str_row_ = lnum;
        str_col_ = uint32_t(start);
        str_off_ = off(start);
        break;
      }
    } else if (is_single_start(tok, tlen)) {
      if (tok[tlen - 1] == '\n') {
        size_t k = 0;
        while (tok[k] != '\'' && tok[k] != '"') k++;
        in_str_ = true;
        needcont_ = true;
        str_three_ = false;
        str_quote_ = tok[k];
        str_row_ = lnum;
        str_col_ = uint32_t(start);
        str_off_ = off(start);
        break;
      }
      emit(Tok::STRING, lnum, uint32_t(start), lnum, uint32_t(end), off(start), span(start, end));
    } else if (is_id_start(initial)) {
      c_name(line, lnum, start, end);
      emit(Tok::NAME, lnum, uint32_t(start), lnum, uint32_t(end), off(start), span(start, end));
      after_number(off(start));
    } else if (initial == '\\') {
      continued_ = true;
    } else {
      op_token(line, lnum, start, end);
    }
  }
  return Step::Next;
}

template <class Line>
void TokenizerImpl::op_token(const Line &line, uint32_t lnum, size_t start, size_t end) {
  char32_t initial = line.at(start);
  if (initial >= 0x80)
    c_name(line, lnum, start, end);
  else if (kClass.c[initial] & kBracket)
    bracket(initial, lnum, uint32_t(start));
  emit(Tok::OP, lnum, uint32_t(start), lnum, uint32_t(end), line_off_ + line.byte(start),
       line.byte(end) - line.byte(start));
}

// The common tokens of an ASCII line, each by its first character, with the outcome
// tokenize.py's ordered alternatives give them: a name, an operator, a number, a line
// end, a string that closes on this line, a comment. Stops at anything else (a string
// continued on the next line, a backslash, what matches nothing), which the general
// path takes, and returns where: there, or the line's end.
size_t TokenizerImpl::ascii_tokens(const AsciiLine &l, uint32_t lnum, size_t pos) {
  const unsigned char *s = l.s;
  const size_t n = l.n;
  // A line ending in '\n' (all but maybe the last) ends every run of blanks and of
  // word characters, so those scans need no bounds check. Each token takes at least a
  // character, so a batch with room for the rest of the line needs no check either.
  if (n == 0 || s[n - 1] != '\n') return pos;
  room(n - pos);
  while (pos < n) {
    size_t p = pos + (s[pos] == ' '), e; // one space, the usual case, without a branch
    while (kClass.c[s[p]] & kBlank) p++;
    uint8_t cls = kClass.c[s[p]];
    if ((cls & kNameStart) && !may_start_string(s, n, p)) {
      e = word_end(s, p + 1, l.readable);
      put(Tok::NAME, lnum, uint32_t(p), lnum, uint32_t(e), line_off_ + p, e - p);
      after_number(line_off_ + p);
    } else if (cls & kOpStart) {
      if (cls & kOneChar) {
        e = p + 1;
        if (cls & kBracket) bracket(s[p], lnum, uint32_t(p));
      } else if ((e = special(l, p)) == kNo) {
        return pos; // a '!' alone
      }
      put(Tok::OP, lnum, uint32_t(p), lnum, uint32_t(e), line_off_ + p, e - p);
    } else if (cls & kDigit) { // only a number starts with a digit, and always matches
      e = number(l, p);
      put(Tok::NUMBER, lnum, uint32_t(p), lnum, uint32_t(e), line_off_ + p, e - p);
      after_number(line_off_ + p);
      number_end_ = line_off_ + e;
    } else if (s[p] == '.' && !digit(s[p + 1])) {
      e = special(l, p);
      put(Tok::OP, lnum, uint32_t(p), lnum, uint32_t(e), line_off_ + p, e - p);
    } else if (s[p] == '\n' || (s[p] == '\r' && l.at(p + 1) == '\n')) {
      e = s[p] == '\n' ? p + 1 : p + 2;
      put(parenlev_ > 0 ? Tok::NL : Tok::NEWLINE, lnum, uint32_t(p), lnum, uint32_t(e),
          line_off_ + p, e - p);
    } else if ((e = one_line_string(l, p)) != kNo) {
      put(Tok::STRING, lnum, uint32_t(p), lnum, uint32_t(e), line_off_ + p, e - p);
    } else if (s[p] == '#') { // to the line's end, before a '\r' or the '\n'
      e = p + 1;
      while (s[e] != '\n' && s[e] != '\r') e++;
      put(Tok::COMMENT, lnum, uint32_t(p), lnum, uint32_t(e), line_off_ + p, e - p);
    } else {
      return pos;
    }
    pos = e;
  }
  return n;
}

// After the last line: the implicit NEWLINE when the input does not end in one, the
// DEDENTs, ENDMARKER, and a bracket never closed.
void TokenizerImpl::finish() {
  uint32_t lnum = lnum_;
  const size_t last_len = at_ - last_off_;
  char end = last_len ? text_[at_ - 1] : '\n';
  if (end != '\r' && end != '\n') { // the last line has no line end
    Text last = to_text(text_.substr(last_off_, last_len));
    size_t a = 0, b = last.size();
    while (a < b && is_space(last[a])) a++;
    while (b > a && is_space(last[b - 1])) b--;
    bool comment = a < b && last[a] == '#';
    if (!comment) {
      uint32_t n = uint32_t(last.size());
      emit(Tok::NEWLINE, lnum - 1, n, lnum - 1, n + 1, text_.size(), 0);
    }
  }
  for (size_t k = 1; k < indents_.size(); k++) emit(Tok::DEDENT, lnum, 0, lnum, 0, text_.size(), 0);
  emit(Tok::ENDMARKER, lnum, 0, lnum, 0, text_.size(), 0);
  if (!parens_.empty() && !out_.syntax_error.present()) {
    const Open &o = parens_.back();
    issue("'" + std::string(1, char(o.c)) + "' was never closed", o.line, o.col + 1);
  }
}

const char *tok_name(Tok t) {
  static const char *names[] = {"ENDMARKER", "NAME", "NUMBER", "STRING", "NEWLINE", "INDENT",
                                "DEDENT", "OP", "ERRORTOKEN", "COMMENT", "NL", "ENCODING"};
  return names[static_cast<int>(t)];
}

TokenStream::TokenStream(std::string_view text, const TokenizeLimits &limits,
                         TokenizeResult &out)
    : impl_(std::make_unique<TokenizerImpl>(text, limits, out)) {
  impl_->emit(Tok::ENCODING, 0, 0, 0, 0, 0, 0);
}

TokenStream::~TokenStream() = default;

bool TokenStream::step() { return impl_->step(); }

bool TokenStream::done() const { return impl_->done(); }

TokenSpan TokenStream::fresh() const {
  return TokenSpan{impl_->buf_ + impl_->fresh_, impl_->fresh_end_ - impl_->fresh_};
}

} // namespace weir
