// Python string literal values and inspect.cleandoc, for docstrings.
#include <algorithm>
#include <string_view>

#include "structure.hpp"

namespace weir {
namespace {

int hexval(char32_t c) {
  if (c >= '0' && c <= '9') return int(c - '0');
  if (c >= 'a' && c <= 'f') return int(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return int(c - 'A' + 10);
  return -1;
}

bool one_literal(const char32_t *s, size_t n, Text &out) {
  size_t p = 0;
  bool raw = false;
  while (p < n && s[p] != '\'' && s[p] != '"') {
    char32_t c = s[p] | 0x20;
    if (c == 'b' || c == 'f') return false;
    if (c == 'r') raw = true;
    p++;
  }
  if (p >= n) return false;
  size_t q = (n - p >= 6 && s[p + 1] == s[p] && s[p + 2] == s[p]) ? 3 : 1;
  if (n < p + 2 * q) return false;
  // The compiler sees universal newlines.
  std::u32string_view inner(s + p + q, n - p - 2 * q);
  Text crlf;
  if (inner.find(U'\r') != std::u32string_view::npos) {
    for (size_t i = 0; i < inner.size(); i++) {
      crlf.push_back(inner[i] == '\r' ? U'\n' : inner[i]);
      if (inner[i] == '\r' && i + 1 < inner.size() && inner[i + 1] == '\n') i++;
    }
    inner = crlf;
  }
  const std::u32string_view body = inner;
  if (raw) {
    out.append(body.data(), body.size());
    return true;
  }
  for (size_t i = 0; i < body.size(); i++) {
    char32_t c = body[i];
    if (c != '\\' || i + 1 >= body.size()) {
      out.push_back(c);
      continue;
    }
    char32_t e = body[++i];
    switch (e) {
    case '\n': break;
    case '\\': out.push_back('\\'); break;
    case '\'': out.push_back('\''); break;
    case '"': out.push_back('"'); break;
    case 'a': out.push_back(7); break;
    case 'b': out.push_back(8); break;
    case 'f': out.push_back(12); break;
    case 'n': out.push_back(10); break;
    case 'r': out.push_back(13); break;
    case 't': out.push_back(9); break;
    case 'v': out.push_back(11); break;
    case 'x': case 'u': case 'U': {
      size_t width = e == 'x' ? 2 : e == 'u' ? 4 : 8;
      char32_t v = 0;
      for (size_t k = 1; k <= width; k++) {
        if (i + k >= body.size()) return false;
        int h = hexval(body[i + k]);
        if (h < 0) return false;
        v = v * 16 + char32_t(h);
      }
      if (v > 0x10FFFF) return false;
      out.push_back(v);
      i += width;
      break;
    }
    case 'N': return false;
    default:
      if (e >= '0' && e <= '7') {
        char32_t v = e - '0';
        for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7';
             k++)
          v = v * 8 + (body[++i] - '0');
        out.push_back(v);
      } else {
        out.push_back('\\');
        out.push_back(e);
      }
    }
  }
  return true;
}

} // namespace

bool string_value(std::string_view text, const std::vector<Token> &parts, Text &out) {
  out.clear();
  Text literal;
  for (const Token &t : parts) {
    literal = to_text(text.substr(t.off, t.len));
    if (!one_literal(literal.data(), literal.size(), out)) return false;
  }
  return true;
}

namespace {

// expandtabs(8): columns restart after '\n' and '\r'.
Text expand_tabs(const Text &doc) {
  Text expanded;
  expanded.reserve(doc.size());
  size_t col = 0;
  for (char32_t c : doc) {
    if (c == '\t') {
      size_t n = 8 - col % 8;
      expanded.append(n, ' ');
      col += n;
    } else {
      expanded.push_back(c);
      col = (c == '\n' || c == '\r') ? 0 : col + 1;
    }
  }
  return expanded;
}

struct Span {
  size_t b, e;
};

} // namespace

// Lines are spans of the (tab-expanded) text, trimmed in place: one allocation for
// the spans and one for the result, whatever the number of lines.
Text cleandoc(const Text &doc) {
  bool tabs = doc.find(U'\t') != Text::npos;
  Text expanded = tabs ? expand_tabs(doc) : Text();
  const Text &t = tabs ? expanded : doc;
  std::vector<Span> lines;
  size_t start = 0;
  for (size_t i = 0; i <= t.size(); i++)
    if (i == t.size() || t[i] == '\n') {
      lines.push_back(Span{start, i});
      start = i + 1;
    }
  auto lstrip_len = [&](Span l) {
    size_t k = l.b;
    while (k < l.e && is_space(t[k])) k++;
    return k - l.b;
  };
  size_t margin = size_t(-1);
  for (size_t i = 1; i < lines.size(); i++) {
    size_t ws = lstrip_len(lines[i]);
    if (ws < lines[i].e - lines[i].b) margin = std::min(margin, ws);
  }
  lines[0].b += lstrip_len(lines[0]);
  if (margin != size_t(-1))
    for (size_t i = 1; i < lines.size(); i++)
      lines[i].b = lines[i].e - lines[i].b > margin ? lines[i].b + margin : lines[i].e;
  while (!lines.empty() && lines.back().b == lines.back().e) lines.pop_back();
  size_t first = 0;
  while (first < lines.size() && lines[first].b == lines[first].e) first++;
  Text out;
  out.reserve(t.size());
  for (size_t i = first; i < lines.size(); i++) {
    if (i > first) out.push_back('\n');
    out.append(t, lines[i].b, lines[i].e - lines[i].b);
  }
  return out;
}

} // namespace weir
