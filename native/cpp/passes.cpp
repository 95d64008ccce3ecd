// tokens.jsonl, outline.json, metrics.json, stripped.py and callgraph.dot.
#include "passes.hpp"

#include <algorithm>
#include <set>

namespace weir {
namespace {

constexpr size_t kFlush = 1 << 16;

void check(const Unit &u, size_t i) {
  if ((i & 4095) == 0 && u.interrupted && u.interrupted()) throw Interrupted{};
}

void append_uint(std::string &out, uint32_t v) {
  char buf[12];
  int n = 0;
  do {
    buf[n++] = char('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) out.push_back(buf[--n]);
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

void write_tokens(const Unit &u, Sink &out) {
  std::string buf;
  buf.reserve(kFlush + 4096);
  const Text &text = u.source.text;
  for (size_t i = 0; i < u.tokens.size(); i++) {
    check(u, i);
    const Token &t = u.tokens[i];
    buf += "{\"type\":\"";
    buf += tok_name(t.type);
    buf += "\",\"string\":";
    if (t.type == Tok::ENCODING)
      json_string(buf, u.source.encoding);
    else
      json_string(buf, text.data() + t.off, t.len);
    buf += ",\"start\":[";
    append_uint(buf, t.srow);
    buf.push_back(',');
    append_uint(buf, t.scol);
    buf += "],\"end\":[";
    append_uint(buf, t.erow);
    buf.push_back(',');
    append_uint(buf, t.ecol);
    buf += "]}\n";
    if (buf.size() >= kFlush) {
      out.write(buf);
      buf.clear();
    }
  }
  out.write(buf);
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
      json_text(j, d.decorators[k]);
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
  const Text &text = u.source.text;
  size_t lines = 0;
  for (char32_t c : text) lines += c == '\n';
  if (!text.empty() && text.back() != '\n') lines++;
  std::vector<uint8_t> code(lines + 2), doc(lines + 2), comment(lines + 2);
  std::vector<uint8_t> in_doc(s.sig.size());
  for (const DocSite &d : s.docsites)
    for (size_t i = d.first; i <= d.last; i++) in_doc[i] = 1;
  size_t si = 0;
  for (size_t i = 0; i < u.tokens.size(); i++) {
    check(u, i);
    const Token &t = u.tokens[i];
    bool sig = si < s.sig.size() && s.sig[si] == i;
    bool docstring = sig && in_doc[si];
    if (sig) si++;
    if (t.type == Tok::COMMENT) {
      if (t.srow <= lines) comment[t.srow] = 1;
      continue;
    }
    if (t.type != Tok::NAME && t.type != Tok::NUMBER && t.type != Tok::STRING &&
        t.type != Tok::OP && t.type != Tok::ERRORTOKEN)
      continue;
    for (uint32_t r = t.srow; r <= t.erow && r <= lines; r++) (docstring ? doc : code)[r] = 1;
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
  static const std::set<std::string> decisions = {"if", "elif", "for", "while",
                                                  "except", "and", "or"};
  for (size_t i = 0; i < s.sig.size(); i++) {
    check(u, i);
    int o = s.owner.empty() ? -1 : s.owner[i];
    const Token &t = u.tokens[s.sig[i]];
    if (o < 0 || t.type != Tok::NAME) continue;
    std::string w = to_utf8(text.data() + t.off, t.len);
    bool decision = decisions.count(w) > 0;
    if (w == "case" && i > 0 && i + 1 < s.sig.size()) {
      Tok prev = u.tokens[s.sig[i - 1]].type;
      const Token &next = u.tokens[s.sig[i + 1]];
      bool line_start = prev == Tok::NEWLINE || prev == Tok::INDENT || prev == Tok::DEDENT;
      char32_t c = text[next.off];
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

void write_stripped(const Unit &u, bool docstrings, bool comments, Sink &out) {
  struct Edit {
    size_t from, to;
    const char *with;
  };
  const Text &text = u.source.text;
  const Structure &s = u.structure;
  std::vector<Edit> edits;
  if (comments) {
    for (size_t i = 0; i < u.tokens.size(); i++) {
      check(u, i);
      const Token &t = u.tokens[i];
      if (t.type != Tok::COMMENT) continue;
      size_t from = t.off;
      while (from > 0 && (text[from - 1] == ' ' || text[from - 1] == '\t')) from--;
      edits.push_back(Edit{from, t.off + t.len, ""});
    }
  }
  if (docstrings) {
    auto tok = [&](size_t k) -> const Token & { return u.tokens[s.sig[k]]; };
    auto is_semicolon = [&](size_t k) {
      return k < s.sig.size() && tok(k).type == Tok::OP && text[tok(k).off] == ';';
    };
    for (const DocSite &d : s.docsites) {
      size_t from = tok(d.first).off, to = tok(d.last).off + tok(d.last).len;
      bool semi = is_semicolon(d.next);
      if (d.alone && d.owner >= 0) {
        edits.push_back(Edit{from, to, "pass"});
        continue;
      }
      if (semi) {
        const Token &after = tok(d.next + 1);
        if (d.alone || after.type == Tok::NEWLINE)
          to = tok(d.next).off + tok(d.next).len;
        else
          to = after.off;
      }
      edits.push_back(Edit{from, to, ""});
    }
  }
  std::sort(edits.begin(), edits.end(), [](const Edit &a, const Edit &b) { return a.from < b.from; });
  Text result;
  result.reserve(text.size());
  size_t at = 0;
  for (const Edit &e : edits) {
    if (e.from < at) continue;
    result.append(text, at, e.from - at);
    for (const char *p = e.with; *p; p++) result.push_back(char32_t(*p));
    at = e.to;
  }
  result.append(text, at, text.size() - at);
  std::string bytes;
  if (comments || !encode_as(u.source.encoding, result, bytes)) bytes = to_utf8(result);
  out.write(bytes);
}

void write_callgraph(const Unit &u, Sink &out) {
  const Structure &s = u.structure;
  const Text &text = u.source.text;
  auto tok = [&](size_t k) -> const Token & { return u.tokens[s.sig[k]]; };
  auto word = [&](size_t k) { return to_utf8(text.data() + tok(k).off, tok(k).len); };
  auto is_op = [&](size_t k, char32_t c) {
    return k < s.sig.size() && tok(k).type == Tok::OP && tok(k).len == 1 && text[tok(k).off] == c;
  };
  std::vector<std::vector<std::string>> calls(s.defs.size() + 1);
  std::vector<std::set<std::string>> seen(s.defs.size() + 1);
  for (size_t i = 0; i < s.sig.size(); i++) {
    check(u, i);
    if (tok(i).type != Tok::NAME) continue;
    std::string w = word(i);
    if (is_keyword(w)) continue;
    if (i > 0 && (is_op(i - 1, '.') || (tok(i - 1).type == Tok::NAME &&
                                        (word(i - 1) == "def" || word(i - 1) == "class"))))
      continue;
    size_t j = i;
    std::string callee = w;
    while (is_op(j + 1, '.') && j + 2 < s.sig.size() && tok(j + 2).type == Tok::NAME) {
      callee += "." + word(j + 2);
      j += 2;
    }
    if (!is_op(j + 1, '(')) continue;
    int o = s.owner.empty() ? -1 : s.owner[i];
    size_t slot = size_t(o + 1);
    if (seen[slot].insert(callee).second) calls[slot].push_back(callee);
  }
  auto quoted = [](const std::string &n) {
    std::string q = "\"";
    for (char c : n) {
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
