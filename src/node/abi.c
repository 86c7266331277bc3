/*
 * abi.c — the table of guest ABI adapters (abi.h), by the names of
 * weft/profile.h's ABI table: adding an ABI is one line here and one row
 * there.
 */
#include <string.h>

#include "abi.h"

static const node_abi_t *const adapters[] = {
    &node_abi_nx,
    &node_abi_faasm,
    &node_abi_calimero,
    &node_abi_cosmictron,
};

const node_abi_t *node_abi_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof adapters / sizeof adapters[0]; i++)
        if (strcmp(adapters[i]->name, name) == 0)
            return adapters[i];
    return NULL;
}
