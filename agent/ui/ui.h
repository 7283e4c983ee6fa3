/* The web UI's files, embedded at build time by embed.py (one generated
 * C file of byte arrays) and looked up by request path. */
#ifndef AG_UI_H
#define AG_UI_H

#include <stddef.h>

typedef struct {
    const char *path; /* "/index.html" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
} ag_ui_asset;

extern const ag_ui_asset ag_ui_assets[];
extern const unsigned ag_ui_assets_count;

/* The asset for a request path ("/" is "/index.html"), or NULL. */
const ag_ui_asset *ag_ui_find(const char *path);

/* Content-Security-Policy sent with every UI file, the UI's only policy
 * (index.html has no copy): only this origin may provide scripts, styles,
 * images, fonts and API answers; no inline script or style attribute (the
 * UI sets styles through the CSSOM, which a policy does not restrict), no
 * framing, and no form submits anywhere (the UI's forms are handled by its
 * scripts). */
#define AG_UI_CSP                                                 \
    "default-src 'none'; script-src 'self'; style-src 'self'; "   \
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; " \
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

#endif
