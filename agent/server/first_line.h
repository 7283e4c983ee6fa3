/* The first line of an HTTP request, judged before libmicrohttpd sees it.
 *
 * libmicrohttpd 0.9.75 closes a connection whose request line it cannot
 * parse (no space, a NUL byte) without a word, before any callback; the
 * gate (gate.h) reads the line first, without consuming it, and answers a
 * malformed one with a 400 itself. Well-formed here is RFC 9112's
 * request-line, strictly: a method token, one SP, a target of visible
 * bytes (obs-text allowed), one SP, HTTP/DIGIT.DIGIT, then CRLF or a bare
 * LF; empty lines before it are skipped (RFC 9112, 2.2). Which versions
 * are served is libmicrohttpd's to say (it answers 505), not this check's. */
#ifndef AG_FIRST_LINE_H
#define AG_FIRST_LINE_H

#include <stddef.h>

/* The most bytes a request line may take (with its end of line and the
 * empty lines before it) to go on to libmicrohttpd: well within what its
 * 128 KiB connection buffer parses. */
enum { AG_FIRST_LINE_MAX = 16384 };

typedef enum {
    AG_LINE_INCOMPLETE, /* a valid start, no end of line yet: wait for more */
    AG_LINE_GOOD,       /* a whole, well-formed request line */
    AG_LINE_BAD,        /* malformed: answer 400 */
    AG_LINE_TOO_LONG,   /* no end of line within AG_FIRST_LINE_MAX: answer 414 */
} ag_line_verdict;

/* Judges the first n bytes a client sent (n may exceed the line). On
 * AG_LINE_BAD and AG_LINE_TOO_LONG, *why is a static sentence for the
 * reply's body; otherwise it is left alone. Never fails, reads only data. */
ag_line_verdict ag_first_line_check(const unsigned char *data, size_t n, const char **why);

#endif
