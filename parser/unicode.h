// Unicode and string helpers that behave exactly like the Go functions BuildKit's
// Dockerfile parser uses (unicode.IsSpace/IsLetter/IsDigit, strconv.Quote,
// strings.TrimSpace, utf8.DecodeRune), so that bld splits, trims and dumps
// Dockerfiles byte for byte as BuildKit does. Internal to parser/.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bld::parser::text {

inline constexpr char32_t kRuneError = 0xFFFD;

struct DecodedRune {
  char32_t rune;
  int width;  // bytes consumed; an invalid byte decodes as kRuneError with width 1
};

// utf8.DecodeRuneInString(s[pos:]). Requires pos < s.size().
DecodedRune DecodeRune(std::string_view s, size_t pos);
// utf8.AppendRune: invalid code points (surrogates, > U+10FFFF) append U+FFFD.
void AppendRune(std::string* out, char32_t r);

bool IsSpace(char32_t r);   // unicode.IsSpace
bool IsLetter(char32_t r);  // unicode.IsLetter (category L)
bool IsDigit(char32_t r);   // unicode.IsDigit (category Nd)
bool IsPrint(char32_t r);   // strconv.IsPrint
// unicode.IsSpace applied to a single byte as a rune (Go's `unicode.IsSpace(rune(b))`).
inline bool IsSpaceByte(unsigned char b) {
  return b == ' ' || (b >= '\t' && b <= '\r') || b == 0x85 || b == 0xA0;
}

// strconv.Quote: double-quoted Go string literal.
std::string GoQuote(std::string_view s);
// fmt's %q of a []string: ["a" "b"].
std::string GoQuoteList(const std::string* begin, const std::string* end);

std::string_view TrimSpace(std::string_view s);      // strings.TrimSpace
std::string_view TrimLeftSpace(std::string_view s);  // strings.TrimLeftFunc(s, unicode.IsSpace)
std::string AsciiLower(std::string_view s);
std::string AsciiUpper(std::string_view s);
bool EqualFoldAscii(std::string_view a, std::string_view b);

}  // namespace bld::parser::text
