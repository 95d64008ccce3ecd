// tokens.jsonl, outline.json, metrics.json, stripped.py and callgraph.dot.
#include "passes.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iterator>
#include <set>
#include <stdexcept>

namespace weir {
namespace {

// Python's keywords, by length: most names are ruled out by their length and one
// comparison or two.
bool is_keyword(std::string_view w) {
  static const std::vector<std::string_view> by_length[9] = {
      {},
      {},
      {"as", "if", "in", "is", "or"},
      {"and", "def", "del", "for", "not", "try"},
      {"None", "True", "elif", "else", "from", "pass", "with"},
      {"False", "async", "await", "break", "class", "raise", "while", "yield"},
      {"assert", "except", "global", "import", "lambda", "return"},
      {"finally"},
      {"continue", "nonlocal"}};
  if (w.size() >= 9) return false;
  for (std::string_view k : by_length[w.size()])
    if (k == w) return true;
  return false;
}

} // namespace

namespace {

constexpr size_t kTokenBuf = 1 << 18;
constexpr size_t kTokenSlack = 256; // the most a line takes beside its escaped string

// "00".."99", for writing numbers two digits at a time.
struct DigitPairs {
  char p[200] = {};
  constexpr DigitPairs() {
    for (int i = 0; i < 100; i++) p[2 * i] = char('0' + i / 10), p[2 * i + 1] = char('0' + i % 10);
  }
};
constexpr DigitPairs kPairs;

char *put_uint(char *d, uint32_t v) {
  char tmp[10];
  char *end = tmp + sizeof tmp, *p = end;
  while (v >= 100) {
    p -= 2;
    memcpy(p, kPairs.p + 2 * (v % 100), 2);
    v /= 100;
  }
  if (v >= 10) {
    p -= 2;
    memcpy(p, kPairs.p + 2 * v, 2);
  } else {
    *--p = char('0' + v);
  }
  memcpy(d, p, size_t(end - p));
  return d + (end - p);
}

char *put(char *d, const char *s, size_t n) {
  memcpy(d, s, n);
  return d + n;
}

// `{"type":"NAME","string":` for each token type.
struct Prefixes {
  std::string p[12];
  Prefixes() {
    for (int t = 0; t < 12; t++)
      p[t] = std::string("{\"type\":\"") + tok_name(Tok(t)) + "\",\"string\":\"";
  }
};
const Prefixes &prefixes() {
  static const Prefixes kPrefixes;
  return kPrefixes;
}

} // namespace

TokenWriter::TokenWriter(std::string_view text, const std::string &encoding, Sink &out,
                         std::function<bool()> interrupted)
    : text_(text), encoding_(encoding), out_(out), interrupted_(std::move(interrupted)),
      buf_(new char[kTokenBuf]) {}

void TokenWriter::flush() {
  out_.write(buf_.get(), used_);
  used_ = 0;
}

void TokenWriter::line(const Token &t) {
  std::string_view str =
      t.type == Tok::ENCODING ? std::string_view(encoding_) : text_.substr(t.off, t.len);
  const std::string &prefix = prefixes().p[int(t.type)];
  if (used_ + kTokenSlack + 6 * str.size() > kTokenBuf) flush();
  char *d = put(buf_.get() + used_, prefix.data(), prefix.size());
  // A string too long for the buffer is escaped in pieces; the escaper copies bytes
  // of multi-byte characters as they are, so a piece may end inside one.
  size_t piece = (kTokenBuf - kTokenSlack) / 6;
  while (str.size() > piece) {
    d = json_escape_utf8(d, str.data(), piece);
    str.remove_prefix(piece);
    used_ = size_t(d - buf_.get());
    flush();
    d = buf_.get();
  }
  d = json_escape_utf8(d, str.data(), str.size());
  d = put(d, "\",\"start\":[", 11);
  char *row = d;
  d = put_uint(d, t.srow);
  size_t row_len = size_t(d - row);
  *d++ = ',';
  d = put_uint(d, t.scol);
  d = put(d, "],\"end\":[", 9);
  if (t.erow == t.srow) // most tokens: the row's digits again
    d = put(d, row, row_len);
  else
    d = put_uint(d, t.erow);
  *d++ = ',';
  d = put_uint(d, t.ecol);
  d = put(d, "]}\n", 3);
  used_ = size_t(d - buf_.get());
}

void TokenWriter::tokens(const Token *batch, size_t n) {
  auto t0 = std::chrono::steady_clock::now();
  if (interrupted_ && interrupted_()) throw Interrupted{};
  for (size_t i = 0; i < n; i++) line(batch[i]);
  micros_ += std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::steady_clock::now() - t0)
                 .count();
}

void TokenWriter::finish() {
  auto t0 = std::chrono::steady_clock::now();
  flush();
  micros_ += std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::steady_clock::now() - t0)
                 .count();
}

namespace {

// Appends to a sink through a 64 KiB buffer.
class Buffered {
public:
  explicit Buffered(Sink &out) : out_(out) { buf_.reserve(kSize); }
  void add(std::string_view s) {
    if (buf_.size() + s.size() > kSize) flush();
    if (s.size() >= kSize)
      out_.write(s.data(), s.size());
    else
      buf_.append(s.data(), s.size());
  }
  void flush() {
    out_.write(buf_);
    buf_.clear();
  }

private:
  static constexpr size_t kSize = 1 << 16;
  Sink &out_;
  std::string buf_;
};

std::string num(long v) { return std::to_string(v); }

void outline_import(Buffered &b, const Import &im, std::string &j) {
  j = "{\"kind\":\"";
  j += im.from ? "from" : "import";
  j += "\",\"module\":";
  if (im.module_null)
    j += "null";
  else
    json_string(j, im.module);
  j += ",\"name\":";
  json_string(j, im.name);
  j += ",\"asname\":";
  if (im.asname.empty())
    j += "null";
  else
    json_string(j, im.asname);
  j += ",\"level\":" + num(im.level) + ",\"line\":" + num(im.line) + "}";
  b.add(j);
}

void outline_definition(Buffered &b, const Definition &d, std::string &j) {
  j = "{\"kind\":\"";
  j += d.kind;
  j += "\",\"name\":";
  json_string(j, d.name);
  j += ",\"qualname\":";
  json_string(j, d.qualname);
  j += ",\"line\":" + num(d.line) + ",\"end_line\":" + num(d.end_line) + ",\"decorators\":[";
  for (size_t k = 0; k < d.decorators.size(); k++) {
    if (k) j += ",";
    json_string(j, d.decorators[k]);
  }
  j += "],\"docstring\":";
  b.add(j);
  b.add(d.has_docstring ? std::string_view(d.docstring) : "null");
  b.add("}");
}

} // namespace

void write_outline(const Structure &s, Sink &out) {
  Buffered b(out);
  std::string j;
  b.add("{\"module_docstring\":");
  b.add(s.has_module_docstring ? std::string_view(s.module_docstring) : "null");
  b.add(",\"imports\":[");
  for (size_t i = 0; i < s.imports.size(); i++) {
    if (i) b.add(",");
    outline_import(b, s.imports[i], j);
  }
  b.add("],\"definitions\":[");
  for (size_t i = 0; i < s.defs.size(); i++) {
    if (i) b.add(",");
    outline_definition(b, s.defs[i], j);
  }
  b.add("]}\n");
  b.flush();
}

// Lines are classified as the tokens and comments arrive in text order, so by
// increasing start row: a row is final once a token starting below it is seen, and
// only the furthest end row of code and docstring tokens so far is needed.
// Where a pass is among the docstring sites (absolute site numbers).
struct SiteCursor {
  static constexpr size_t kNone = size_t(-1);
  size_t n = 0;         // the first site not wholly before the last token asked about
  size_t first = kNone; // where site n begins, if known
};

struct MetricsState {
  size_t lines = 0;     // rows 1..lines exist
  size_t row = 1;       // the first row not yet classified
  size_t code_max = 0, doc_max = 0, comment_row = 0;
  size_t code = 0, doc = 0, comment = 0, blank = 0;
  SiteCursor site;
  Tok prev = Tok::ENDMARKER; // the type of the token before, for `case`
  std::vector<long> complexity; // per definition

  // Classifies rows before `srow` (none past `lines`).
  void advance(size_t srow) {
    size_t stop = std::min(srow, lines + 1);
    for (; row < stop; row++) {
      if (row <= code_max)
        code++;
      else if (row <= doc_max)
        doc++;
      else if (row == comment_row)
        comment++;
      else
        blank++;
    }
  }
  void add_comment(const Token &c) {
    advance(c.srow);
    if (c.srow <= lines) comment_row = c.srow;
  }
};

struct CallgraphState {
  std::vector<std::vector<std::string>> calls{1}; // per slot: the module, then definitions
  std::vector<std::set<std::string>> seen{1};
};

struct StripState {
  bool docstrings, comments, reencode;
  Buffered direct;
  std::string whole;   // the output, when it is re-encoded at the end
  size_t at = 0;       // the source written up to here
  SiteCursor site;

  StripState(bool d, bool c, bool r, Sink &out)
      : docstrings(d), comments(c), reencode(r), direct(out) {}
  void add(std::string_view piece) {
    if (reencode)
      whole.append(piece.data(), piece.size());
    else
      direct.add(piece);
  }
  // Edits arrive in order of `from`; one starting inside the last is dropped.
  void edit(std::string_view text, size_t from, size_t to, const char *with) {
    if (from < at) return;
    add(text.substr(at, from - at));
    add(with);
    at = to;
  }
};

TokenPasses::TokenPasses(const Decoded &source, Structure &s,
                         std::function<bool()> interrupted)
    : source_(source), s_(s), interrupted_(std::move(interrupted)) {}

TokenPasses::~TokenPasses() = default;

void TokenPasses::enable_metrics() {
  metrics_ = std::make_unique<MetricsState>();
  std::string_view text = source_.text;
  size_t lines = size_t(std::count(text.begin(), text.end(), '\n'));
  if (!text.empty() && text.back() != '\n') lines++;
  metrics_->lines = lines;
}

// Owners are found for a whole batch before the passes run over it, so a closed
// definition's state is released only after the batch (forget_closed).
void TokenPasses::close(int def) {
  open_.pop_back();
  closed_.push_back(def);
}

// The bodies of closed definitions are behind: no call can be added to them, so their
// sets of callees seen go (the calls themselves stay, in order).
void TokenPasses::forget_closed() {
  for (int def : closed_) {
    size_t slot = size_t(def + 1);
    if (callgraph_ && slot < callgraph_->seen.size())
      std::set<std::string>().swap(callgraph_->seen[slot]);
  }
  closed_.clear();
}

void TokenPasses::enable_callgraph() { callgraph_ = std::make_unique<CallgraphState>(); }

void TokenPasses::enable_strip(bool docstrings, bool comments, Sink &out) {
  // The result is UTF-8 when comments go (the coding line goes with them); else it
  // keeps the source's encoding, when that can express it.
  bool reencode = !comments && source_.encoding != "utf-8";
  strip_ = std::make_unique<StripState>(docstrings, comments, reencode, out);
}

int TokenPasses::owner(size_t i) {
  auto ended_before = [&](int d, size_t k) {
    size_t last = s_.defs[size_t(d)].body_last;
    return last != Definition::kOpen && last < k;
  };
  while (next_open_ < s_.defs.size() && s_.defs[next_open_].body_first <= i) {
    size_t first = s_.defs[next_open_].body_first;
    while (!open_.empty() && ended_before(open_.back(), first)) close(open_.back());
    open_.push_back(int(next_open_++));
  }
  while (!open_.empty() && ended_before(open_.back(), i)) close(open_.back());
  return open_.empty() ? -1 : open_.back();
}

namespace {

long long since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now() - t0)
      .count();
}

bool counts_as_code(Tok t) {
  return t == Tok::NAME || t == Tok::NUMBER || t == Tok::STRING || t == Tok::OP ||
         t == Tok::ERRORTOKEN;
}

// The docstring site holding token i, if any. The cursor only moves on; it remembers
// where the next site begins, so most tokens are ruled out by one comparison.
const DocSite *site_of(const Structure &s, SiteCursor &c, size_t i) {
  if (c.first != SiteCursor::kNone && i < c.first) return nullptr;
  c.n = std::max(c.n, s.docsites_dropped);
  while (c.n - s.docsites_dropped < s.docsites.size() &&
         s.docsites[c.n - s.docsites_dropped].last < i)
    c.n++;
  if (c.n - s.docsites_dropped >= s.docsites.size()) {
    c.first = SiteCursor::kNone; // sites yet to be parsed may come
    return nullptr;
  }
  const DocSite &d = s.docsites[c.n - s.docsites_dropped];
  c.first = d.first;
  return d.first <= i ? &d : nullptr;
}

bool is_case_pattern(std::string_view text, TokenWindow &w, MetricsState &m, size_t i) {
  if (i == 0 || !w.exists(i + 1)) return false;
  Token next = w.get(i + 1);
  bool line_start = m.prev == Tok::NEWLINE || m.prev == Tok::INDENT || m.prev == Tok::DEDENT;
  char c = next.off < text.size() ? text[next.off] : '\0';
  bool pattern =
      next.type != Tok::OP || c == '(' || c == '[' || c == '{' || c == '-' || c == '*';
  return line_start && pattern;
}

bool is_decision(std::string_view w) {
  static const std::string_view decisions[] = {"if", "elif", "for", "while",
                                               "except", "and", "or"};
  for (std::string_view d : decisions)
    if (w == d) return true;
  return false;
}

void metrics_token(const Structure &s, std::string_view text, TokenWindow &w, MetricsState &m,
                   size_t i, const Token &t, int owner) {
  m.advance(t.srow);
  if (counts_as_code(t.type)) {
    bool in_doc = site_of(s, m.site, i) != nullptr;
    size_t &until = in_doc ? m.doc_max : m.code_max;
    until = std::max(until, size_t(t.erow));
  }
  if (owner >= 0 && t.type == Tok::NAME) {
    std::string_view word = text.substr(t.off, t.len);
    bool decision = word == "case" ? is_case_pattern(text, w, m, i) : is_decision(word);
    if (decision) {
      if (m.complexity.size() <= size_t(owner)) m.complexity.resize(size_t(owner) + 1, 1);
      m.complexity[size_t(owner)]++;
    }
  }
  m.prev = t.type;
}

bool is_op(std::string_view text, TokenWindow &w, size_t k, char c) {
  if (!w.exists(k)) return false;
  Token t = w.get(k);
  return t.type == Tok::OP && t.len == 1 && text[t.off] == c;
}

void callgraph_token(std::string_view text, TokenWindow &w, CallgraphState &g, size_t i,
                     const Token &t, int owner) {
  if (t.type != Tok::NAME) return;
  auto word = [&](const Token &k) { return text.substr(k.off, k.len); };
  std::string_view name = word(t);
  if (is_keyword(name)) return;
  if (i > 0) {
    Token before = w.get(i - 1);
    if (is_op(text, w, i - 1, '.') ||
        (before.type == Tok::NAME && (word(before) == "def" || word(before) == "class")))
      return;
  }
  size_t j = i;
  while (is_op(text, w, j + 1, '.') && w.exists(j + 2) && w.get(j + 2).type == Tok::NAME) j += 2;
  if (!is_op(text, w, j + 1, '(')) return;
  std::string callee(name); // name.attr.attr, built only for a call
  for (size_t k = i + 2; k <= j; k += 2) {
    callee += ".";
    callee += word(w.get(k));
  }
  size_t slot = size_t(owner + 1);
  if (g.calls.size() <= slot) {
    g.calls.resize(slot + 1);
    g.seen.resize(slot + 1);
  }
  if (g.seen[slot].insert(callee).second) g.calls[slot].push_back(std::move(callee));
}

void strip_comment(std::string_view text, StripState &st, const Token &c) {
  size_t from = c.off;
  while (from > 0 && (text[from - 1] == ' ' || text[from - 1] == '\t')) from--;
  // A comment that ends the text without a line end may close a backslash
  // continuation, which must not then run into the end of the file.
  size_t to = size_t(c.off) + c.len;
  st.edit(text, from, to, to == text.size() ? "\n" : "");
}

void strip_docstring(std::string_view text, TokenWindow &w, StripState &st, const DocSite &d) {
  if (!d.settled) throw std::logic_error("strip: a docstring site was consumed unsettled");
  Token first = w.get(d.first), last = w.get(d.last);
  size_t from = first.off, to = size_t(last.off) + last.len;
  Token next = w.get(d.next);
  bool semi = w.exists(d.next) && next.type == Tok::OP && text[next.off] == ';';
  if (d.alone && d.owner >= 0) return st.edit(text, from, to, "pass");
  if (semi) {
    Token after = w.get(d.next + 1);
    if (d.alone || after.type == Tok::NEWLINE)
      to = size_t(next.off) + next.len;
    else
      to = after.off;
  }
  st.edit(text, from, to, "");
}

} // namespace

// Each pass runs over the whole batch in turn, timed on its own clock.
void TokenPasses::consume(TokenWindow &w, size_t from, size_t to,
                          const std::vector<Token> &comments) {
  if (interrupted_ && interrupted_()) throw Interrupted{};
  owners_.clear();
  if (metrics_ || callgraph_)
    for (size_t i = from; i < to; i++) owners_.push_back(owner(i));
  auto t0 = std::chrono::steady_clock::now();
  if (metrics_) consume_metrics(w, from, to, comments);
  auto t1 = std::chrono::steady_clock::now();
  if (callgraph_) consume_callgraph(w, from, to);
  auto t2 = std::chrono::steady_clock::now();
  if (strip_) consume_strip(w, from, to, comments);
  auto t3 = std::chrono::steady_clock::now();
  // Differences of one set of time points: never negative, whatever the
  // rounding (two calls of since() read the clock twice and could be).
  auto us = [](std::chrono::steady_clock::duration d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  };
  metrics_us += us(t1 - t0);
  callgraph_us += us(t2 - t1);
  strip_us += us(t3 - t2);
  drop_docsites(to);
  forget_closed();
}

// Tokens and comments in text order, so rows are classified in order.
void TokenPasses::consume_metrics(TokenWindow &w, size_t from, size_t to,
                                  const std::vector<Token> &comments) {
  size_t c = 0;
  for (size_t i = from; i < to; i++) {
    Token t = w.get(i);
    for (; c < comments.size() && comments[c].off < t.off; c++) metrics_->add_comment(comments[c]);
    metrics_token(s_, source_.text, w, *metrics_, i, t, owners_[i - from]);
  }
  for (; c < comments.size(); c++) metrics_->add_comment(comments[c]);
}

void TokenPasses::consume_callgraph(TokenWindow &w, size_t from, size_t to) {
  for (size_t i = from; i < to; i++)
    callgraph_token(source_.text, w, *callgraph_, i, w.get(i), owners_[i - from]);
}

// Comments and docstrings in text order: the edits come sorted by where they start.
void TokenPasses::consume_strip(TokenWindow &w, size_t from, size_t to,
                                const std::vector<Token> &comments) {
  StripState &st = *strip_;
  std::string_view text = source_.text;
  size_t c = 0;
  for (size_t i = from; i < to && (st.docstrings || st.comments); i++) {
    Token t = w.get(i);
    for (; st.comments && c < comments.size() && comments[c].off < t.off; c++)
      strip_comment(text, st, comments[c]);
    const DocSite *d = st.docstrings ? site_of(s_, st.site, i) : nullptr;
    if (d && d->first == i) strip_docstring(text, w, st, *d);
  }
  for (; st.comments && c < comments.size(); c++) strip_comment(text, st, comments[c]);
}

// Sites wholly before `to` are done with.
void TokenPasses::drop_docsites(size_t to) {
  while (!s_.docsites.empty() && s_.docsites.front().last < to) {
    s_.docsites.pop_front();
    s_.docsites_dropped++;
  }
}

void TokenPasses::write_metrics(Sink &out) {
  auto t0 = std::chrono::steady_clock::now();
  MetricsState &m = *metrics_;
  m.advance(m.lines + 1);
  std::string j = "{\"lines\":{\"total\":" + num(long(m.lines)) + ",\"code\":" + num(long(m.code)) +
                  ",\"comment\":" + num(long(m.comment)) + ",\"blank\":" + num(long(m.blank)) +
                  ",\"docstring\":" + num(long(m.doc)) + "},\"definitions\":[";
  Buffered b(out);
  for (size_t i = 0; i < s_.defs.size(); i++) {
    if (i) j += ",";
    j += "{\"qualname\":";
    json_string(j, s_.defs[i].qualname);
    long c = i < m.complexity.size() ? m.complexity[i] : 1;
    j += ",\"line\":" + num(s_.defs[i].line) + ",\"complexity\":" + num(c) + "}";
    b.add(j);
    j.clear();
  }
  j += "]}\n";
  b.add(j);
  b.flush();
  metrics_us += since(t0);
}

namespace {

std::string quoted(const std::string &name) {
  std::string q = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') q.push_back('\\');
    q.push_back(c);
  }
  return q + "\"";
}

} // namespace

void TokenPasses::write_callgraph(Sink &out) {
  auto t0 = std::chrono::steady_clock::now();
  CallgraphState &g = *callgraph_;
  Buffered b(out);
  b.add("digraph callgraph {\n  node [shape=box];\n  " + quoted("<module>") + ";\n");
  for (const Definition &def : s_.defs) b.add("  " + quoted(def.qualname) + ";\n");
  for (size_t slot = 0; slot < g.calls.size(); slot++) {
    std::string from = quoted(slot == 0 ? "<module>" : s_.defs[slot - 1].qualname);
    for (const std::string &c : g.calls[slot]) b.add("  " + from + " -> " + quoted(c) + ";\n");
  }
  b.add("}\n");
  b.flush();
  callgraph_us += since(t0);
}

void TokenPasses::finish_strip() {
  auto t0 = std::chrono::steady_clock::now();
  StripState &st = *strip_;
  st.add(source_.text.substr(st.at));
  if (!st.reencode) {
    st.direct.flush();
  } else {
    std::string bytes;
    bool ok = encode_as(source_.encoding, st.whole, bytes);
    st.direct.add(ok ? bytes : st.whole);
    st.direct.flush();
  }
  strip_us += since(t0);
}

} // namespace weir
