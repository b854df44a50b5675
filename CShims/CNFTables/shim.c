// Thin libnftables shim: a listing command in, nft's text (or message) out.
// Our tables are written over our own netlink (NativeMessages); nft's words
// are used to show them.
// libnftables is loaded when first used (dlopen), like libvirt: with
// libnftnl, libxtables, libjansson and libgmp it would otherwise add to the
// start of every process, and only the native layout needs it.
#include "CNFTables.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nftables/libnftables.h>

static struct {
    __typeof__(&nft_ctx_new) ctx_new;
    __typeof__(&nft_ctx_free) ctx_free;
    __typeof__(&nft_ctx_buffer_output) buffer_output;
    __typeof__(&nft_ctx_buffer_error) buffer_error;
    __typeof__(&nft_ctx_get_output_buffer) output_buffer;
    __typeof__(&nft_ctx_get_error_buffer) error_buffer;
    __typeof__(&nft_run_cmd_from_buffer) run;
} nft;
static pthread_once_t nft_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t nft_lock = PTHREAD_MUTEX_INITIALIZER;
static char nft_failure[256];

static void nft_load(void)
{
    void *library = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        snprintf(nft_failure, sizeof(nft_failure), "cannot load libnftables: %s", dlerror());
        return;
    }
#define SG_NFT_SYMBOL(field, name) \
    if ((*(void **)&nft.field = dlsym(library, #name)) == NULL) { \
        snprintf(nft_failure, sizeof(nft_failure), "libnftables has no %s", #name); \
        return; \
    }
    SG_NFT_SYMBOL(ctx_new, nft_ctx_new)
    SG_NFT_SYMBOL(ctx_free, nft_ctx_free)
    SG_NFT_SYMBOL(buffer_output, nft_ctx_buffer_output)
    SG_NFT_SYMBOL(buffer_error, nft_ctx_buffer_error)
    SG_NFT_SYMBOL(output_buffer, nft_ctx_get_output_buffer)
    SG_NFT_SYMBOL(error_buffer, nft_ctx_get_error_buffer)
    SG_NFT_SYMBOL(run, nft_run_cmd_from_buffer)
#undef SG_NFT_SYMBOL
}

static char *copy(const char *text)
{
    return strdup(text != NULL ? text : "");
}

int sg_nft_query(const char *script, char **output, char **error)
{
    *error = NULL;
    if (output != NULL)
        *output = NULL;
    pthread_once(&nft_once, nft_load);
    if (nft_failure[0] != 0) {
        *error = copy(nft_failure);
        return -1;
    }
    pthread_mutex_lock(&nft_lock);
    struct nft_ctx *context = nft.ctx_new(NFT_CTX_DEFAULT);
    int result = -1;
    if (context == NULL) {
        *error = copy("nft_ctx_new failed");
    } else if (nft.buffer_output(context) != 0 || nft.buffer_error(context) != 0) {
        *error = copy("cannot buffer libnftables' output");
    } else if (nft.run(context, script) != 0) {
        *error = copy(nft.error_buffer(context));
    } else {
        if (output != NULL)
            *output = copy(nft.output_buffer(context));
        result = 0;
    }
    if (context != NULL)
        nft.ctx_free(context);
    pthread_mutex_unlock(&nft_lock);
    return result;
}
