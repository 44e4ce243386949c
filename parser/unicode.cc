#include "parser/unicode.h"

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace bld::parser::text {
namespace {

struct Range {
  char32_t first;
  char32_t last;
  uint8_t classes;
};

constexpr Range kRanges[] = {
#include "parser/unicode_tables.inc"
};

constexpr uint8_t kLetter = 1, kDigit = 2, kPrint = 4;

uint8_t ClassesOf(char32_t r) {
  auto it = std::upper_bound(std::begin(kRanges), std::end(kRanges), r,
                             [](char32_t v, const Range& rg) { return v < rg.first; });
  if (it == std::begin(kRanges)) return 0;
  --it;
  return r <= it->last ? it->classes : 0;
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

DecodedRune DecodeRune(std::string_view s, size_t pos) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + pos;
  size_t n = s.size() - pos;
  unsigned char c0 = p[0];
  if (c0 < 0x80) return {c0, 1};
  auto cont = [&](size_t i) { return i < n && (p[i] & 0xC0) == 0x80; };
  if (c0 >= 0xC2 && c0 <= 0xDF) {
    if (cont(1)) return {static_cast<char32_t>(((c0 & 0x1F) << 6) | (p[1] & 0x3F)), 2};
  } else if (c0 >= 0xE0 && c0 <= 0xEF) {
    if (cont(1) && cont(2)) {
      char32_t r = ((c0 & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
      if (r >= 0x800 && !(r >= 0xD800 && r <= 0xDFFF)) return {r, 3};
    }
  } else if (c0 >= 0xF0 && c0 <= 0xF4) {
    if (cont(1) && cont(2) && cont(3)) {
      char32_t r =
          ((c0 & 0x07) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
      if (r >= 0x10000 && r <= 0x10FFFF) return {r, 4};
    }
  }
  return {kRuneError, 1};
}

void AppendRune(std::string* out, char32_t r) {
  if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) r = kRuneError;
  if (r < 0x80) {
    out->push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (r >> 6)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (r >> 12)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (r >> 18)));
    out->push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  }
}

bool IsSpace(char32_t r) {
  if (r < 0x100) return IsSpaceByte(static_cast<unsigned char>(r));
  return r == 0x1680 || (r >= 0x2000 && r <= 0x200A) || r == 0x2028 || r == 0x2029 || r == 0x202F ||
         r == 0x205F || r == 0x3000;
}

bool IsLetter(char32_t r) {
  if (r < 0x80) return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
  return ClassesOf(r) & kLetter;
}

bool IsDigit(char32_t r) {
  if (r < 0x80) return r >= '0' && r <= '9';
  return ClassesOf(r) & kDigit;
}

bool IsPrint(char32_t r) {
  if (r < 0x80) return r >= 0x20 && r < 0x7F;
  return ClassesOf(r) & kPrint;
}

std::string GoQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    DecodedRune d = DecodeRune(s, i);
    if (d.width == 1 && d.rune == kRuneError) {
      unsigned char b = static_cast<unsigned char>(s[i]);
      out += "\\x";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
      i += 1;
      continue;
    }
    i += d.width;
    char32_t r = d.rune;
    if (r == '"' || r == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(r));
      continue;
    }
    if (IsPrint(r)) {
      AppendRune(&out, r);
      continue;
    }
    switch (r) {
      case '\a':
        out += "\\a";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\v':
        out += "\\v";
        continue;
      default:
        break;
    }
    if (r < ' ' || r == 0x7F) {
      out += "\\x";
      out.push_back(kHex[(r >> 4) & 15]);
      out.push_back(kHex[r & 15]);
    } else if (r < 0x10000) {
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHex[(r >> shift) & 15]);
    } else {
      out += "\\U";
      for (int shift = 28; shift >= 0; shift -= 4) out.push_back(kHex[(r >> shift) & 15]);
    }
  }
  out.push_back('"');
  return out;
}

std::string GoQuoteList(const std::string* begin, const std::string* end) {
  std::string out = "[";
  for (const std::string* it = begin; it != end; ++it) {
    if (it != begin) out.push_back(' ');
    out += GoQuote(*it);
  }
  out.push_back(']');
  return out;
}

std::string_view TrimLeftSpace(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    DecodedRune d = DecodeRune(s, i);
    if (!IsSpace(d.rune) || (d.rune == kRuneError && d.width == 1)) break;
    i += d.width;
  }
  return s.substr(i);
}

std::string_view TrimSpace(std::string_view s) {
  s = TrimLeftSpace(s);
  // Walk backwards over whole runes.
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && end - start < 4 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) {
      --start;
    }
    DecodedRune d = DecodeRune(s, start);
    if (start + d.width != end) {  // the last byte is not the end of a valid rune
      break;
    }
    if (!IsSpace(d.rune)) break;
    end = start;
  }
  return s.substr(0, end);
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool EqualFoldAscii(std::string_view a, std::string_view b) {
  return a.size() == b.size() && AsciiLower(a) == AsciiLower(b);
}

}  // namespace bld::parser::text
