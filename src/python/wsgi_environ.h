/*
 * wsgi_environ.h — a WSGI request's headers, read from its environ in C.
 *
 * PEP 3333 hands the request's headers over as environ keys: `HTTP_` and
 * the name upper-cased with `-` as `_` (`HTTP_X_REQUEST_ID`), plus
 * CONTENT_TYPE and CONTENT_LENGTH without the prefix. The WSGI middleware
 * wants them back as a dict, with the names lowered (`x-request-id`: the
 * propagation and header-tag lookups) or as sent (`X-Request-Id`, which
 * str.title spells). `_ctrace.wsgi_request_headers(environ, as_sent)`
 * builds that dict: one pass over the environ, names of ASCII keys spelled
 * byte by byte, others through str.replace and str.lower / str.title, so
 * the result equals contrib/wsgi/wsgi.py's `_request_headers` exactly.
 *
 * Written in Python this loop was the largest single cost of a traced
 * Flask request: two to three method calls for each of the environ's
 * twenty-odd keys.
 *
 * Failure policy: the caller's (contrib/wsgi/wsgi.py falls back to the
 * Python loop for an environ that is not exactly a dict); a key that is
 * not a str is skipped; an allocation failure raises MemoryError.
 */
#ifndef CT_WSGI_ENVIRON_H
#define CT_WSGI_ENVIRON_H

#include "ext.h"

/* Adds wsgi_request_headers to the module. 0, or -1 with an exception. */
int ct_ext_wsgi_environ_init(PyObject *module);

#endif
