// Text: the character classes CPython uses, source decoding as tokenize.py finds the
// encoding (BOM, PEP 263 cookie, UTF-8 default), and UTF-8/JSON output. Knows nothing
// of tokens or passes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace weir {

using Text = std::u32string;

bool is_word(char32_t c);        // `\w` of Python's re (str.isalnum() or '_')
bool is_id_start(char32_t c);    // chr(c).isidentifier()
bool is_id_continue(char32_t c); // ('a' + chr(c)).isidentifier()
bool is_space(char32_t c);       // str.isspace()
bool is_printable(char32_t c);   // str.isprintable()

// Where a source failed to decode or declare its encoding.
struct DecodeError {
  std::string message;
  long line = 0; // 1-based
  long col = 0;  // 1-based, in characters of the decoded prefix of that line
};

struct Decoded {
  std::string encoding; // as tokenize.py's ENCODING token names it
  Text text;            // the whole file, BOM removed
  std::string tokenize_error; // non-empty: tokenize.py refuses the file, compile() may not
};

// Decodes `bytes` as tokenize.tokenize would. Returns false and fills `err` on failure.
bool decode_source(const std::string &bytes, Decoded &out, DecodeError &err);

// Re-encodes `text` in the named codec (as decode_source named it). False if it cannot.
bool encode_as(const std::string &encoding, const Text &text, std::string &out);

void append_utf8(std::string &out, char32_t c);
std::string to_utf8(const char32_t *p, size_t n);
inline std::string to_utf8(const Text &t) { return to_utf8(t.data(), t.size()); }

// Appends `s` (UTF-32, may hold lone surrogates) as a JSON string literal.
void json_string(std::string &out, const char32_t *p, size_t n);
void json_string(std::string &out, const std::string &utf8);

} // namespace weir
