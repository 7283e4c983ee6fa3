/*
 * shared_string — immutable, reference-counted UTF-8 strings.
 *
 * Span names, services, resources, tag keys and values are mostly the same
 * few strings over and over (literals in the user's code, the service from
 * DD_SERVICE). Sharing one copy through a reference count means a span that
 * reuses its parent's service, or a tag key from a cache, costs an atomic
 * increment instead of a malloc and memcpy. Counts are atomic because spans
 * of one trace may finish on different threads in C programs.
 *
 * The type and the functions a binding uses are declared in
 * ctrace_internal.h; this header adds the rest.
 */
#ifndef CT_SHARED_STRING_H
#define CT_SHARED_STRING_H

#include "ctrace_internal.h" /* ct_string and its functions */

/* The empty string, shared and never freed. Can't fail. */
ct_string *ct__string_empty(void);

#endif
