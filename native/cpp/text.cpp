// Character classes from generated tables, and source decoding.
#include "text.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace weir {
namespace {

struct Range {
  char32_t lo, hi;
};
struct Codec {
  const char *name;
  int32_t table[256];
};
struct Alias {
  const char *alias;
  const char *codec;
};

#include "tables.inc"

template <size_t N> bool in_ranges(const Range (&rs)[N], char32_t c) {
  size_t lo = 0, hi = N;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (rs[mid].hi < c)
      lo = mid + 1;
    else if (rs[mid].lo > c)
      hi = mid;
    else
      return true;
  }
  return false;
}

bool ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

// tokenize._get_normal_name.
std::string normal_name(const std::string &orig) {
  std::string enc;
  for (size_t i = 0; i < orig.size() && i < 12; i++) {
    char c = lower(orig[i]);
    enc.push_back(c == '_' ? '-' : c);
  }
  auto starts = [&](const char *p) { return enc.rfind(p, 0) == 0; };
  if (enc == "utf-8" || starts("utf-8-")) return "utf-8";
  if (enc == "latin-1" || enc == "iso-8859-1" || enc == "iso-latin-1" || starts("latin-1-") ||
      starts("iso-8859-1-") || starts("iso-latin-1-"))
    return "iso-8859-1";
  return orig;
}

// encodings.normalize_encoding after lower-casing, then the alias table: the codec
// module a name resolves to, or "" when Python knows no such codec.
std::string resolve_codec(const std::string &name) {
  std::string norm;
  bool punct = false;
  for (char ch : name) {
    char c = lower(ch);
    if (ascii_alnum(c) || c == '.') {
      if (punct && !norm.empty()) norm.push_back('_');
      norm.push_back(c);
      punct = false;
    } else if ((unsigned char)c >= 0x80) {
      punct = false; // non-ASCII alphanumerics are dropped, as Python does
    } else {
      punct = true;
    }
  }
  auto find = [](const std::string &key) -> const char * {
    for (const Alias &a : kAliases)
      if (key == a.alias) return a.codec;
    return nullptr;
  };
  if (const char *c = find(norm)) return c;
  std::string dotted = norm;
  std::replace(dotted.begin(), dotted.end(), '.', '_');
  if (const char *c = find(dotted)) return c;
  return "";
}

const Codec *single_byte(const std::string &codec) {
  for (const Codec &c : kCodecs)
    if (codec == c.name) return &c;
  return nullptr;
}

// cookie_re = r'^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)' (ASCII), on one line.
bool find_cookie(const std::string &line, std::string &name) {
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\f')) i++;
  if (i >= line.size() || line[i] != '#') return false;
  size_t end = line.find('\n', i);
  if (end == std::string::npos) end = line.size();
  for (size_t k = i + 1; k + 6 < end + 1; k++) {
    if (line.compare(k, 6, "coding") != 0) continue;
    size_t p = k + 6;
    if (p >= end || (line[p] != ':' && line[p] != '=')) continue;
    p++;
    while (p < end && (line[p] == ' ' || line[p] == '\t')) p++;
    size_t s = p;
    while (p < end && (ascii_alnum(line[p]) || line[p] == '_' || line[p] == '-' || line[p] == '.'))
      p++;
    if (p > s) {
      name = line.substr(s, p - s);
      return true;
    }
  }
  return false;
}

// blank_re = br'^[ \t\f]*(?:[#\r\n]|$)'
bool blank_line(const std::string &line) {
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\f')) i++;
  return i == line.size() || line[i] == '#' || line[i] == '\r' || line[i] == '\n';
}

// Strict UTF-8 as Python's codec: no overlongs, no surrogates, nothing above U+10FFFF.
// Returns the length of the sequence at p, or 0 when invalid.
size_t utf8_seq(const unsigned char *p, size_t n, char32_t &cp) {
  unsigned char b = p[0];
  if (b < 0x80) {
    cp = b;
    return 1;
  }
  size_t len;
  char32_t min;
  if (b >= 0xC2 && b <= 0xDF) {
    len = 2;
    cp = b & 0x1F;
    min = 0x80;
  } else if (b >= 0xE0 && b <= 0xEF) {
    len = 3;
    cp = b & 0x0F;
    min = 0x800;
  } else if (b >= 0xF0 && b <= 0xF4) {
    len = 4;
    cp = b & 0x07;
    min = 0x10000;
  } else {
    return 0;
  }
  if (n < len) return 0;
  for (size_t k = 1; k < len; k++) {
    if ((p[k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[k] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// The 1-based line and column (in characters) of byte `at`.
void position_of(std::string_view bytes, size_t at, long &line, long &col) {
  line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < at; i++)
    if (bytes[i] == '\n') {
      line++;
      line_start = i + 1;
    }
  // Columns count characters; the prefix of this line decoded without error.
  col = 1;
  size_t i = line_start;
  while (i < at) {
    char32_t cp;
    size_t k = utf8_seq(reinterpret_cast<const unsigned char *>(bytes.data()) + i, at - i, cp);
    i += k ? k : 1;
    col++;
  }
}

// The index of the first byte of [from, n) that starts no valid UTF-8 sequence, or n.
size_t invalid_utf8(const unsigned char *p, size_t from, size_t n) {
  size_t i = from;
  while ((i = skip_ascii(p, i, n)) < n) {
    char32_t cp;
    size_t k = utf8_seq(p + i, n - i, cp);
    if (!k) return i;
    i += k;
  }
  return n;
}

} // namespace

size_t skip_ascii(const unsigned char *p, size_t from, size_t n) {
  size_t i = from;
#if defined(__SSE2__)
  for (; i + 32 <= n; i += 32) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p + i));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p + i + 16));
    if (_mm_movemask_epi8(_mm_or_si128(a, b))) break;
  }
#endif
  for (uint64_t w; i + 8 <= n; i += 8) {
    memcpy(&w, p + i, 8);
    if (w & 0x8080808080808080ULL) break;
  }
  while (i < n && p[i] < 0x80) i++;
  return i;
}

bool is_word_wide(char32_t c) { return in_ranges(kWord, c); }
bool is_id_start_wide(char32_t c) { return in_ranges(kIdStart, c); }
bool is_id_continue_wide(char32_t c) { return in_ranges(kIdContinue, c); }
bool is_space(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  return in_ranges(kSpace, c);
}

bool is_printable(char32_t c) {
  if (c < 0x80) return c >= 0x20 && c < 0x7F;
  return in_ranges(kPrintable, c);
}

bool decode_source(std::string_view bytes, Decoded &out, DecodeError &err) {
  size_t pos = 0;
  auto next_line = [&]() {
    size_t e = bytes.find('\n', pos);
    e = (e == std::string_view::npos) ? bytes.size() : e + 1;
    std::string l(bytes.substr(pos, e - pos));
    pos = e;
    return l;
  };
  bool bom = bytes.size() >= 3 && bytes.compare(0, 3, "\xEF\xBB\xBF") == 0;
  if (bom) pos = 3;
  size_t body = pos;
  std::string encoding = bom ? "utf-8-sig" : "utf-8";
  std::string codec = "utf_8";
  long cookie_line = 0;
  for (int n = 1; n <= 2 && pos < bytes.size(); n++) {
    std::string line = next_line();
    // find_cookie first decodes the line as UTF-8.
    const unsigned char *lp = reinterpret_cast<const unsigned char *>(line.data());
    if (invalid_utf8(lp, 0, line.size()) != line.size())
      // tokenize.py refuses the file here; compile() reads the cookie from the bytes
      // and reports an undecodable byte later, if any.
      out.tokenize_error = "invalid or missing encoding declaration";
    std::string name;
    if (find_cookie(line, name)) {
      std::string normal = normal_name(name);
      std::string resolved = resolve_codec(normal);
      if (resolved.empty()) {
        err = {"unknown encoding: " + normal, n, 1};
        return false;
      }
      if (bom && normal != "utf-8") {
        err = {"encoding problem: utf-8", n, 1};
        return false;
      }
      encoding = bom ? normal + "-sig" : normal;
      codec = resolved;
      cookie_line = n;
      break;
    }
    if (!blank_line(line)) break;
  }
  out.encoding = (encoding == "utf-8-sig") ? "utf-8" : encoding;
  out.owned.clear();
  const unsigned char *p = reinterpret_cast<const unsigned char *>(bytes.data());
  if (codec == "utf_8") {
    size_t bad = invalid_utf8(p, body, bytes.size());
    if (bad != bytes.size()) {
      char hex[8];
      snprintf(hex, sizeof hex, "%02x", p[bad]);
      long line, col;
      position_of(bytes, bad, line, col);
      err = {std::string("Non-UTF-8 code starting with '\\x") + hex + "' on line " +
                 std::to_string(line) + ", but no encoding declared",
             line, col};
      return false;
    }
    out.text = bytes.substr(body);
    return true;
  }
  const Codec *c = single_byte(codec);
  if (!c) {
    err = {"encoding " + codec + " is known to Python but not supported by weir-native",
           cookie_line, 1};
    return false;
  }
  std::string &t = out.owned;
  t.reserve(bytes.size() - body);
  long line = 1, col = 1;
  for (size_t i = body; i < bytes.size(); i++) {
    int32_t cp = c->table[p[i]];
    if (cp < 0) {
      char hex[8];
      snprintf(hex, sizeof hex, "%02x", p[i]);
      err = {"'" + codec + "' codec can't decode byte 0x" + hex, line, col};
      return false;
    }
    append_utf8(t, char32_t(cp));
    if (p[i] == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  out.text = t;
  return true;
}

namespace {

// Whether a line of `text` (split after '\n') is only blanks and a backslash before
// its line end.
bool blank_continuation(std::string_view text) {
  for (size_t i = text.find('\\'); i != std::string_view::npos; i = text.find('\\', i + 1)) {
    bool ends = i + 1 < text.size() &&
                (text[i + 1] == '\n' || (text[i + 1] == '\r' && i + 2 < text.size() &&
                                         text[i + 2] == '\n'));
    if (!ends) continue;
    size_t k = i;
    while (k > 0 && (text[k - 1] == ' ' || text[k - 1] == '\t' || text[k - 1] == '\f')) k--;
    if (k == 0 || text[k - 1] == '\n') return true;
  }
  return false;
}

} // namespace

bool compiler_text(std::string_view text, std::string &out) {
  auto lone = [&](size_t i) {
    return text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n');
  };
  size_t i = text.find('\r');
  while (i != std::string_view::npos && !lone(i)) i = text.find('\r', i + 1);
  size_t n = text.size();
  bool crlf_end = n >= 2 && text[n - 2] == '\r' && text[n - 1] == '\n';
  if (i == std::string_view::npos && !crlf_end && !blank_continuation(text)) return false;
  out.assign(text);
  for (; i < n; i++)
    if (lone(i)) out[i] = '\n';
  if (crlf_end) out.push_back('\n');
  return true;
}

bool encode_as(const std::string &encoding, std::string_view text, std::string &out) {
  out.clear();
  std::string codec = encoding == "utf-8" ? "utf_8" : resolve_codec(encoding);
  if (codec == "utf_8") {
    out.assign(text.data(), text.size());
    return true;
  }
  const Codec *c = single_byte(codec);
  if (!c) return false;
  out.reserve(text.size());
  const unsigned char *p = reinterpret_cast<const unsigned char *>(text.data());
  for (size_t i = 0; i < text.size();) {
    size_t len;
    char32_t ch = decode_utf8(p + i, text.size() - i, len);
    i += len;
    int b = -1;
    for (int k = 0; k < 256; k++)
      if (c->table[k] == int32_t(ch)) {
        b = k;
        break;
      }
    if (b < 0) return false;
    out.push_back(char(b));
  }
  return true;
}

char32_t decode_utf8(const unsigned char *p, size_t n, size_t &len) {
  char32_t cp;
  len = utf8_seq(p, n, cp);
  if (!len) {
    len = 1;
    return 0xFFFD;
  }
  return cp;
}

Text to_text(std::string_view utf8) {
  Text t;
  t.reserve(utf8.size());
  const unsigned char *p = reinterpret_cast<const unsigned char *>(utf8.data());
  for (size_t i = 0; i < utf8.size();) {
    size_t len;
    t.push_back(decode_utf8(p + i, utf8.size() - i, len));
    i += len;
  }
  return t;
}

void append_utf8(std::string &out, char32_t c) {
  if (c < 0x80) {
    out.push_back(char(c));
  } else if (c < 0x800) {
    out.push_back(char(0xC0 | (c >> 6)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(char(0xE0 | (c >> 12)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (c >> 18)));
    out.push_back(char(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  }
}

std::string to_utf8(const char32_t *p, size_t n) {
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; i++) append_utf8(out, p[i]);
  return out;
}

void json_string(std::string &out, const char32_t *p, size_t n) {
  static const char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (size_t i = 0; i < n; i++) {
    char32_t c = p[i];
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      out.push_back(char(c));
      continue;
    }
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    default:
      if (c < 0x20 || (c >= 0xD800 && c <= 0xDFFF)) {
        out += "\\u";
        for (int s = 12; s >= 0; s -= 4) out.push_back(hex[(c >> s) & 0xF]);
      } else {
        append_utf8(out, c);
      }
    }
  }
  out.push_back('"');
}

void json_string(std::string &out, std::string_view utf8) {
  const unsigned char *p = reinterpret_cast<const unsigned char *>(utf8.data());
  if (invalid_utf8(p, 0, utf8.size()) != utf8.size()) {
    Text t = to_text(utf8);
    json_string(out, t.data(), t.size());
    return;
  }
  size_t at = out.size();
  out.resize(at + 6 * utf8.size() + 2);
  char *d = &out[at];
  *d++ = '"';
  d = json_escape_utf8(d, utf8.data(), utf8.size());
  *d++ = '"';
  out.resize(size_t(d - out.data()));
}

namespace {

// For each byte: 0 copies it, else the character after the backslash ('u' for \u00XX).
struct EscapeTable {
  char e[256];
  constexpr EscapeTable() : e() {
    for (int c = 0; c < 0x20; c++) e[c] = 'u';
    e['"'] = '"';
    e['\\'] = '\\';
    e['\n'] = 'n';
    e['\r'] = 'r';
    e['\t'] = 't';
    e['\b'] = 'b';
    e['\f'] = 'f';
  }
};
constexpr EscapeTable kEscape;

} // namespace

char *json_escape_utf8(char *dst, const char *p, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = reinterpret_cast<const unsigned char *>(p);
  size_t i = 0;
  while (i < n) {
    // Copy a run of bytes needing no escape, eight at a time while it lasts.
    size_t run = i;
    while (run + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + run, 8);
      // A byte needs a look if it is < 0x20, '"' or '\\'.
      uint64_t lt20 = (w - 0x2020202020202020ULL) & ~w & 0x8080808080808080ULL;
      uint64_t q = w ^ 0x2222222222222222ULL;
      uint64_t isq = (q - 0x0101010101010101ULL) & ~q & 0x8080808080808080ULL;
      uint64_t b = w ^ 0x5C5C5C5C5C5C5C5CULL;
      uint64_t isb = (b - 0x0101010101010101ULL) & ~b & 0x8080808080808080ULL;
      if (lt20 | isq | isb) break;
      run += 8;
    }
    while (run < n && !kEscape.e[s[run]]) run++;
    memcpy(dst, s + i, run - i);
    dst += run - i;
    i = run;
    if (i >= n) break;
    unsigned char c = s[i++];
    *dst++ = '\\';
    char e = kEscape.e[c];
    *dst++ = e;
    if (e == 'u') {
      *dst++ = '0';
      *dst++ = '0';
      *dst++ = hex[c >> 4];
      *dst++ = hex[c & 0xF];
    }
  }
  return dst;
}

} // namespace weir
