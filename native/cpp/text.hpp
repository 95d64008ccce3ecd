// Text: the character classes CPython uses, source decoding as tokenize.py finds the
// encoding (BOM, PEP 263 cookie, UTF-8 default), and UTF-8/JSON output. Knows nothing
// of tokens or passes. The decoded source is UTF-8: a view of the input bytes
// themselves when the source is UTF-8 (validated, never copied), else a transcoded
// copy; columns are counted in code points where they are needed.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace weir {

using Text = std::u32string; // small decoded values only (docstrings)

bool is_word_wide(char32_t c);        // is_word above ASCII, from the tables
bool is_id_start_wide(char32_t c);    // is_id_start above ASCII
bool is_id_continue_wide(char32_t c); // is_id_continue above ASCII

inline bool ascii_word(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_';
}
// `\w` of Python's re (str.isalnum() or '_')
inline bool is_word(char32_t c) { return c < 0x80 ? ascii_word(c) : is_word_wide(c); }
// chr(c).isidentifier()
inline bool is_id_start(char32_t c) {
  return c < 0x80 ? ascii_word(c) && !(c >= '0' && c <= '9') : is_id_start_wide(c);
}
// ('a' + chr(c)).isidentifier()
inline bool is_id_continue(char32_t c) {
  return c < 0x80 ? ascii_word(c) : is_id_continue_wide(c);
}
bool is_space(char32_t c);       // str.isspace()
bool is_printable(char32_t c);   // str.isprintable()

// The offset of the first byte of p[from, n) that is not ASCII, or n (16 or 32 bytes
// a step: every source is scanned this way once or twice).
size_t skip_ascii(const unsigned char *p, size_t from, size_t n);

// Where a source failed to decode or declare its encoding.
struct DecodeError {
  std::string message;
  long line = 0; // 1-based
  long col = 0;  // 1-based, in characters of the decoded prefix of that line
};

struct Decoded {
  std::string encoding; // as tokenize.py's ENCODING token names it
  std::string_view text; // the whole file as valid UTF-8, BOM removed
  std::string owned;     // the transcoded text when the source was not UTF-8
  std::string tokenize_error; // non-empty: tokenize.py refuses the file, compile() may not
};

// Decodes `bytes` as tokenize.tokenize would. Returns false and fills `err` on failure.
// On success `out.text` may point into `bytes`, which must outlive it.
bool decode_source(std::string_view bytes, Decoded &out, DecodeError &err);

// The text as CPython's compiler reads it, where that differs from what tokenize.py
// reads. The compiler's newline translation makes each lone '\r' (one not before
// '\n') a line end, where tokenize.py splits lines after '\n' only, and it adds a
// '\n' after a final "\r\n"; and the compiler measures a statement's indentation
// across lines of only blanks and a backslash continuation, where tokenize.py takes
// each such line's blanks as its indentation (TokenizeLimits::compiler_indents).
// Returns false when both read `text` alike; else fills `out` with `text`, each
// lone '\r' made '\n' (offsets unchanged) and the '\n' added.
bool compiler_text(std::string_view text, std::string &out);

// Re-encodes UTF-8 `text` in the named codec (as decode_source named it). False if it
// cannot.
bool encode_as(const std::string &encoding, std::string_view text, std::string &out);

// The code point of the valid UTF-8 sequence at p (n bytes left); its length in `len`.
char32_t decode_utf8(const unsigned char *p, size_t n, size_t &len);
Text to_text(std::string_view utf8); // valid UTF-8 to code points

void append_utf8(std::string &out, char32_t c);
std::string to_utf8(const char32_t *p, size_t n);
inline std::string to_utf8(const Text &t) { return to_utf8(t.data(), t.size()); }

// Appends `s` (UTF-32, may hold lone surrogates) as a JSON string literal.
void json_string(std::string &out, const char32_t *p, size_t n);
// Appends UTF-8 `s` as a JSON string literal (invalid bytes become U+FFFD).
void json_string(std::string &out, std::string_view utf8);

// JSON-escapes valid UTF-8 [p, p+n) into `dst`, which must have room for 6*n bytes;
// returns the end. No quotes are added. The fast path for tokens.jsonl.
char *json_escape_utf8(char *dst, const char *p, size_t n);

} // namespace weir
