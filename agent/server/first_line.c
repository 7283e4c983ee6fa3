/* The request line's check (see first_line.h): one pass over the bytes,
 * part by part, stopping at the first byte that cannot belong there. */
#include "first_line.h"

#include <stdbool.h>
#include <string.h>

/* RFC 9110, 5.6.2: tchar. */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return true;
    return c && strchr("!#$%&'*+-.^_`|~", c);
}

/* A request-target byte: visible ASCII or obs-text, never a control,
 * space or DEL. */
static bool is_target(unsigned char c) { return (c > 0x20 && c < 0x7f) || c >= 0x80; }

static ag_line_verdict bad(const char **why, const char *sentence)
{
    *why = sentence;
    return AG_LINE_BAD;
}

static const char NO_VERSION[] = "the request line has no HTTP version";

/* Why byte c cannot come where a part was expected: eol if the line ends
 * there, otherwise if c is a plain byte out of place. */
static ag_line_verdict bad_byte(const char **why, unsigned char c, const char *eol,
                                const char *otherwise)
{
    if (!c) return bad(why, "a NUL byte in the request line");
    if (c == '\r' || c == '\n') return bad(why, eol);
    if (c < 0x20 || c == 0x7f) return bad(why, "a control byte in the request line");
    return bad(why, otherwise);
}

/* Checks "HTTP/" DIGIT "." DIGIT then CRLF or LF from p, n bytes there. */
static ag_line_verdict check_version(const unsigned char *p, size_t n, const char **why)
{
    static const char shape[] = "HTTP/0.0";
    size_t i = 0;
    for (; i < n && i < sizeof shape - 1; i++) {
        bool ok = shape[i] == '0' ? p[i] >= '0' && p[i] <= '9' : p[i] == (unsigned char)shape[i];
        if (!ok) return bad_byte(why, p[i], NO_VERSION, "the request line must end with HTTP/1.x");
    }
    if (i == n) return AG_LINE_INCOMPLETE;
    if (p[i] == '\r') {
        if (++i == n) return AG_LINE_INCOMPLETE;
        return p[i] == '\n' ? AG_LINE_GOOD
                            : bad(why, "a CR not followed by LF in the request line");
    }
    if (p[i] == '\n') return AG_LINE_GOOD;
    return bad_byte(why, p[i], NO_VERSION, "the request line must end with HTTP/1.x");
}

ag_line_verdict ag_first_line_check(const unsigned char *data, size_t n, const char **why)
{
    bool cut = n >= AG_FIRST_LINE_MAX; /* what follows the limit is not looked at */
    if (cut) n = AG_FIRST_LINE_MAX;
    size_t i = 0;
    while (i < n && (data[i] == '\n' || (data[i] == '\r' && i + 1 < n && data[i + 1] == '\n')))
        i += data[i] == '\r' ? 2 : 1; /* empty lines before the request */
    if (i + 1 == n && data[i] == '\r') return AG_LINE_INCOMPLETE; /* its LF may follow */
    size_t start = i;
    ag_line_verdict v = AG_LINE_INCOMPLETE;
    while (i < n && is_tchar(data[i])) i++;
    if (i < n) {
        if (i == start || data[i] != ' ')
            return bad_byte(why, data[i], "the request line is not METHOD TARGET HTTP/1.x",
                            "the request line must start with a method and a space");
        size_t target = ++i;
        while (i < n && is_target(data[i])) i++;
        if (i < n) {
            if (i == target || data[i] != ' ')
                return bad_byte(why, data[i], NO_VERSION,
                                "the request target must be followed by one space");
            v = check_version(data + i + 1, n - i - 1, why);
        }
    }
    if (v == AG_LINE_INCOMPLETE && cut) {
        *why = "the request line is longer than 16384 bytes";
        return AG_LINE_TOO_LONG;
    }
    return v;
}
