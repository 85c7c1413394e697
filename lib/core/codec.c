/* SPDX-License-Identifier: ISC */
#include "codec.h"

#include <string.h>

void kg_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void kg_b64_put(struct kbuf *b, const unsigned char *in, size_t n)
{
	static const char al[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	kbuf_reserve(b, (n + 2) / 3 * 4);
	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		char q[4] = { al[v >> 18], al[(v >> 12) & 63], al[(v >> 6) & 63], al[v & 63] };
		kbuf_put(b, q, 4);
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		char q[4] = { al[v >> 18], al[(v >> 12) & 63], '=', '=' };
		kbuf_put(b, q, 4);
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		char q[4] = { al[v >> 18], al[(v >> 12) & 63], al[(v >> 6) & 63], '=' };
		kbuf_put(b, q, 4);
	}
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+' || c == '-') return 62;
	if (c == '/' || c == '_') return 63;
	return -1;
}

bool kg_b64_decode(const char *in, size_t n, struct kbuf *out)
{
	unsigned acc = 0;
	int bits = 0;
	size_t i, pad = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad)                 /* data after padding */
			return false;
		if ((v = b64_value(c)) < 0)
			return false;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			kbuf_putc(out, (char)((acc >> bits) & 0xFF));
		}
	}
	/* 6 leftover bits cannot encode anything: a truncated quantum. */
	return pad <= 2 && bits != 6;
}

int kg_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

bool kg_url_decode(const char *in, size_t n, enum kg_urldecode mode, struct kbuf *out)
{
	size_t i;

	kbuf_reserve(out, n);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '%') {
			int hi, lo;

			if (n - i < 3)
				return false;
			hi = kg_hexval((unsigned char)in[i + 1]);
			lo = kg_hexval((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && mode == KG_URL_FORM) {
			c = ' ';
		}
		if (c == '\0')
			return false;
		kbuf_putc(out, (char)c);
	}
	return true;
}

/* Length of the well-formed UTF-8 sequence at s (at most n bytes) and its
 * code point; 0 if it is not one (overlong, surrogate, cut short). */
static size_t utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned char c = s[0];
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xE0) == 0xC0) {
		len = 2; *cp = c & 0x1F;
	} else if ((c & 0xF0) == 0xE0) {
		len = 3; *cp = c & 0x0F;
	} else if ((c & 0xF8) == 0xF0) {
		len = 4; *cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[k] & 0x3F);
	}
	if ((len == 2 && *cp < 0x80) || (len == 3 && *cp < 0x800) ||
	    (len == 4 && (*cp < 0x10000 || *cp > 0x10FFFF)) || (*cp >= 0xD800 && *cp <= 0xDFFF))
		return 0;
	return len;
}

bool kg_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned cp;

	for (size_t i = 0, len; i < n; i += len)
		if (!(len = utf8_next(s + i, n - i, &cp)))
			return false;
	return true;
}

void kg_term_text(struct kbuf *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);
	unsigned cp;

	for (size_t i = 0, len; i < n; i += len) {
		if (!(len = utf8_next(s + i, n - i, &cp))) {
			kbuf_printf(out, "\\x%02X", s[i]);
			len = 1;
		} else if (cp < 0x20 || cp == 0x7F) {
			kbuf_printf(out, "\\x%02X", cp);
		} else if ((cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
		           (cp >= 0x2066 && cp <= 0x2069)) {
			/* C1 controls (0x9B is a CSI) and bidi overrides (text that
			 * displays as something else). */
			kbuf_printf(out, "\\u%04X", cp);
		} else {
			kbuf_put(out, (const char *)s + i, len);
		}
	}
}

void kg_b64_unspace(const char *s, struct kbuf *out)
{
	size_t from = out->len;

	kbuf_puts(out, s);
	for (size_t i = from; i < out->len; i++)
		if (out->p[i] == ' ')
			out->p[i] = '+';
}

/* The wide ranges of Unicode's East Asian Width property (W and F), merged. */
static bool wide(unsigned long cp)
{
	static const unsigned long ranges[][2] = {
		{ 0x1100, 0x115F }, { 0x2E80, 0x303E }, { 0x3041, 0x33FF }, { 0x3400, 0x4DBF },
		{ 0x4E00, 0x9FFF }, { 0xA000, 0xA4CF }, { 0xAC00, 0xD7A3 }, { 0xF900, 0xFAFF },
		{ 0xFE30, 0xFE4F }, { 0xFF00, 0xFF60 }, { 0xFFE0, 0xFFE6 }, { 0x1F300, 0x1F64F },
		{ 0x1F900, 0x1F9FF }, { 0x20000, 0x3FFFD },
	};

	for (size_t i = 0; i < sizeof ranges / sizeof *ranges; i++)
		if (cp >= ranges[i][0] && cp <= ranges[i][1])
			return true;
	return false;
}

size_t kg_utf8_width(const char *s)
{
	size_t w = 0;

	while (*s) {
		unsigned char c = (unsigned char)*s++;
		unsigned long cp = c;
		int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;

		if (more)
			cp = c & (0x3F >> more);
		for (; more && ((unsigned char)*s & 0xC0) == 0x80; more--)
			cp = cp << 6 | ((unsigned char)*s++ & 0x3F);
		if ((c & 0xC0) != 0x80)     /* a stray continuation byte takes no column */
			w += wide(cp) ? 2 : 1;
	}
	return w;
}
