// tokens.jsonl, outline.json, metrics.json, stripped.py and callgraph.dot.
#include "passes.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <set>

namespace weir {
namespace {

void check(const Unit &u, size_t i) {
  if ((i & 4095) == 0 && u.interrupted && u.interrupted()) throw Interrupted{};
}

void json_text(std::string &out, const Text &t) { json_string(out, t.data(), t.size()); }
void json_opt(std::string &out, bool has, const Text &t) {
  if (has)
    json_text(out, t);
  else
    out += "null";
}

bool is_keyword(const std::string &w) {
  static const std::set<std::string> kws = {
      "False", "None",   "True",    "and",      "as",     "assert", "async", "await",
      "break", "class",  "continue", "def",     "del",    "elif",   "else",  "except",
      "finally", "for",  "from",    "global",   "if",     "import", "in",    "is",
      "lambda", "nonlocal", "not",  "or",       "pass",   "raise",  "return", "try",
      "while", "with",   "yield"};
  return kws.count(w) > 0;
}

} // namespace

namespace {

constexpr size_t kTokenBuf = 1 << 18;
constexpr size_t kTokenSlack = 256; // the most a line takes beside its escaped string

char *put_uint(char *d, uint32_t v) {
  if (v < 10) {
    *d = char('0' + v);
    return d + 1;
  }
  if (v < 100) {
    d[0] = char('0' + v / 10);
    d[1] = char('0' + v % 10);
    return d + 2;
  }
  char tmp[10];
  int n = 0;
  do {
    tmp[n++] = char('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *d++ = tmp[--n];
  return d;
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
  d = put_uint(d, t.srow);
  *d++ = ',';
  d = put_uint(d, t.scol);
  d = put(d, "],\"end\":[", 9);
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

void write_outline(const Unit &u, Sink &out) {
  const Structure &s = u.structure;
  std::string j = "{\"module_docstring\":";
  json_opt(j, s.has_module_docstring, s.module_docstring);
  j += ",\"imports\":[";
  for (size_t i = 0; i < s.imports.size(); i++) {
    check(u, i);
    const Import &im = s.imports[i];
    if (i) j += ",";
    j += "{\"kind\":\"";
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
    j += ",\"level\":" + std::to_string(im.level) + ",\"line\":" + std::to_string(im.line) + "}";
  }
  j += "],\"definitions\":[";
  for (size_t i = 0; i < s.defs.size(); i++) {
    check(u, i);
    const Definition &d = s.defs[i];
    if (i) j += ",";
    j += "{\"kind\":\"" + d.kind + "\",\"name\":";
    json_string(j, d.name);
    j += ",\"qualname\":";
    json_string(j, d.qualname);
    j += ",\"line\":" + std::to_string(d.line) + ",\"end_line\":" + std::to_string(d.end_line) +
         ",\"decorators\":[";
    for (size_t k = 0; k < d.decorators.size(); k++) {
      if (k) j += ",";
      json_string(j, d.decorators[k]);
    }
    j += "],\"docstring\":";
    json_opt(j, d.has_docstring, d.docstring);
    j += "}";
  }
  j += "]}\n";
  out.write(j);
}

void write_metrics(const Unit &u, Sink &out) {
  const Structure &s = u.structure;
  std::string_view text = u.source.text;
  size_t lines = size_t(std::count(text.begin(), text.end(), '\n'));
  if (!text.empty() && text.back() != '\n') lines++;
  std::vector<uint8_t> code(lines + 2), doc(lines + 2), comment(lines + 2);
  std::vector<uint8_t> in_doc(u.tokens.size());
  for (const DocSite &d : s.docsites)
    for (size_t i = d.first; i <= d.last && i < in_doc.size(); i++) in_doc[i] = 1;
  for (const Token &t : u.comments)
    if (t.srow <= lines) comment[t.srow] = 1;
  for (size_t i = 0; i < u.tokens.size(); i++) {
    check(u, i);
    const Token &t = u.tokens[i];
    if (t.type != Tok::NAME && t.type != Tok::NUMBER && t.type != Tok::STRING &&
        t.type != Tok::OP && t.type != Tok::ERRORTOKEN)
      continue;
    for (uint32_t r = t.srow; r <= t.erow && r <= lines; r++) (in_doc[i] ? doc : code)[r] = 1;
  }
  size_t n_code = 0, n_doc = 0, n_comment = 0, n_blank = 0;
  for (size_t r = 1; r <= lines; r++) {
    if (code[r])
      n_code++;
    else if (doc[r])
      n_doc++;
    else if (comment[r])
      n_comment++;
    else
      n_blank++;
  }
  std::vector<long> complexity(s.defs.size(), 1);
  static const std::string_view decisions[] = {"if", "elif", "for", "while",
                                               "except", "and", "or"};
  for (size_t i = 0; i < u.tokens.size(); i++) {
    check(u, i);
    int o = s.owner.empty() ? -1 : s.owner[i];
    const Token &t = u.tokens[i];
    if (o < 0 || t.type != Tok::NAME) continue;
    std::string_view w = text.substr(t.off, t.len);
    bool decision = false;
    for (std::string_view d : decisions) decision |= w == d;
    if (w == "case" && i > 0 && i + 1 < u.tokens.size()) {
      Tok prev = u.tokens[i - 1].type;
      const Token &next = u.tokens[i + 1];
      bool line_start = prev == Tok::NEWLINE || prev == Tok::INDENT || prev == Tok::DEDENT;
      char c = next.off < text.size() ? text[next.off] : '\0';
      bool pattern = next.type != Tok::OP || c == '(' || c == '[' || c == '{' || c == '-' ||
                     c == '*';
      decision = line_start && pattern;
    }
    if (decision) complexity[size_t(o)]++;
  }
  std::string j = "{\"lines\":{\"total\":" + std::to_string(lines) +
                  ",\"code\":" + std::to_string(n_code) +
                  ",\"comment\":" + std::to_string(n_comment) +
                  ",\"blank\":" + std::to_string(n_blank) +
                  ",\"docstring\":" + std::to_string(n_doc) + "},\"definitions\":[";
  for (size_t i = 0; i < s.defs.size(); i++) {
    if (i) j += ",";
    j += "{\"qualname\":";
    json_string(j, s.defs[i].qualname);
    j += ",\"line\":" + std::to_string(s.defs[i].line) +
         ",\"complexity\":" + std::to_string(complexity[i]) + "}";
  }
  j += "]}\n";
  out.write(j);
}

namespace {

// Appends to a sink through a 64 KiB buffer.
class Buffered {
public:
  explicit Buffered(Sink &out) : out_(out) { buf_.reserve(kSize); }
  ~Buffered() = default;
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

} // namespace

void write_stripped(const Unit &u, bool docstrings, bool comments, Sink &out) {
  struct Edit {
    size_t from, to;
    const char *with;
  };
  std::string_view text = u.source.text;
  const Structure &s = u.structure;
  std::vector<Edit> edits;
  if (comments) {
    for (size_t i = 0; i < u.comments.size(); i++) {
      check(u, i);
      const Token &t = u.comments[i];
      size_t from = t.off;
      while (from > 0 && (text[from - 1] == ' ' || text[from - 1] == '\t')) from--;
      edits.push_back(Edit{from, size_t(t.off) + t.len, ""});
    }
  }
  if (docstrings) {
    auto tok = [&](size_t k) -> const Token & { return u.tokens[k]; };
    auto is_semicolon = [&](size_t k) {
      return k < u.tokens.size() && tok(k).type == Tok::OP && text[tok(k).off] == ';';
    };
    for (const DocSite &d : s.docsites) {
      size_t from = tok(d.first).off, to = size_t(tok(d.last).off) + tok(d.last).len;
      bool semi = is_semicolon(d.next);
      if (d.alone && d.owner >= 0) {
        edits.push_back(Edit{from, to, "pass"});
        continue;
      }
      if (semi) {
        const Token &after = tok(d.next + 1);
        if (d.alone || after.type == Tok::NEWLINE)
          to = size_t(tok(d.next).off) + tok(d.next).len;
        else
          to = after.off;
      }
      edits.push_back(Edit{from, to, ""});
    }
  }
  std::sort(edits.begin(), edits.end(), [](const Edit &a, const Edit &b) { return a.from < b.from; });
  // The result is UTF-8 when comments go (the coding line goes with them); else it
  // keeps the source's encoding, when that can express it.
  bool reencode = !comments && u.source.encoding != "utf-8";
  std::string whole;
  Buffered direct(out);
  auto add = [&](std::string_view piece) {
    if (reencode)
      whole.append(piece.data(), piece.size());
    else
      direct.add(piece);
  };
  size_t at = 0;
  for (const Edit &e : edits) {
    if (e.from < at) continue;
    add(text.substr(at, e.from - at));
    add(e.with);
    at = e.to;
  }
  add(text.substr(at));
  if (!reencode) {
    direct.flush();
    return;
  }
  std::string bytes;
  out.write(encode_as(u.source.encoding, whole, bytes) ? bytes : whole);
}

void write_callgraph(const Unit &u, Sink &out) {
  const Structure &s = u.structure;
  std::string_view text = u.source.text;
  const size_t n = u.tokens.size();
  auto tok = [&](size_t k) -> const Token & { return u.tokens[k]; };
  auto word = [&](size_t k) { return std::string(text.substr(tok(k).off, tok(k).len)); };
  auto is_op = [&](size_t k, char c) {
    return k < n && tok(k).type == Tok::OP && tok(k).len == 1 && text[tok(k).off] == c;
  };
  std::vector<std::vector<std::string>> calls(s.defs.size() + 1);
  std::vector<std::set<std::string>> seen(s.defs.size() + 1);
  for (size_t i = 0; i < n; i++) {
    check(u, i);
    if (tok(i).type != Tok::NAME) continue;
    std::string w = word(i);
    if (is_keyword(w)) continue;
    if (i > 0 && (is_op(i - 1, '.') || (tok(i - 1).type == Tok::NAME &&
                                        (word(i - 1) == "def" || word(i - 1) == "class"))))
      continue;
    size_t j = i;
    std::string callee = w;
    while (is_op(j + 1, '.') && j + 2 < n && tok(j + 2).type == Tok::NAME) {
      callee += "." + word(j + 2);
      j += 2;
    }
    if (!is_op(j + 1, '(')) continue;
    int o = s.owner.empty() ? -1 : s.owner[i];
    size_t slot = size_t(o + 1);
    if (seen[slot].insert(callee).second) calls[slot].push_back(callee);
  }
  auto quoted = [](const std::string &name) {
    std::string q = "\"";
    for (char c : name) {
      if (c == '"' || c == '\\') q.push_back('\\');
      q.push_back(c);
    }
    return q + "\"";
  };
  std::string d = "digraph callgraph {\n  node [shape=box];\n  " + quoted("<module>") + ";\n";
  for (const Definition &def : s.defs) d += "  " + quoted(def.qualname) + ";\n";
  for (size_t slot = 0; slot < calls.size(); slot++) {
    std::string from = slot == 0 ? "<module>" : s.defs[slot - 1].qualname;
    for (const std::string &c : calls[slot])
      d += "  " + quoted(from) + " -> " + quoted(c) + ";\n";
  }
  d += "}\n";
  out.write(d);
}

} // namespace weir
