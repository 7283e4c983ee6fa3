/* Serving the embedded UI (see ui.h): a linear search over a table of a few
 * dozen entries, which is simpler than a hash and costs nothing next to
 * sending the file. */
#include "ui.h"

#include <string.h>

const ag_ui_asset *ag_ui_find(const char *path)
{
    if (!strcmp(path, "/") || !*path) path = "/index.html";
    for (unsigned i = 0; i < ag_ui_assets_count; i++)
        if (!strcmp(ag_ui_assets[i].path, path)) return &ag_ui_assets[i];
    return NULL;
}
