/* Broken backend plugins for the loader's error paths, in plain C (which also proves that
 * include/unicorn/backend_plugin.h compiles as C). One source, one variant per definition:
 *   BAD_PLUGIN_BAD_VERSION      built for a future ABI version (2)
 *   BAD_PLUGIN_NO_ENTRY     a shared object that does not export the entry point
 *   BAD_PLUGIN_CREATE_FAILS loads fine, but create() fails with a message */
#include <stdio.h>

#include "unicorn/backend_plugin.h"

static int32_t create(int32_t n_threads, void** state, char* error, size_t error_size) {
    (void)n_threads;
#ifdef BAD_PLUGIN_CREATE_FAILS
    *state = NULL;
    snprintf(error, error_size, "no test NPU attached (n_threads %d)", (int)n_threads);
    return UNICORN_PLUGIN_ERROR;
#else
    (void)error;
    (void)error_size;
    *state = NULL;
    return UNICORN_PLUGIN_OK;
#endif
}

static void destroy(void* state) { (void)state; }

static const char* last_error(void* state) {
    (void)state;
    return "";
}

static const struct unicorn_plugin_v1 table = {
#ifdef BAD_PLUGIN_BAD_VERSION
    .abi_version = 2,
#else
    .abi_version = UNICORN_PLUGIN_ABI_VERSION,
#endif
    .name = "test_bad",
    .description = "a broken test plugin",
    .create = create,
    .destroy = destroy,
    .last_error = last_error,
};

#ifdef BAD_PLUGIN_NO_ENTRY
UNICORN_PLUGIN_EXPORT const struct unicorn_plugin_v1* some_other_symbol(void) { return &table; }
#else
UNICORN_PLUGIN_EXPORT const struct unicorn_plugin_v1* unicorn_backend_plugin(
    uint32_t host_abi_version) {
    (void)host_abi_version;
    return &table;
}
#endif
