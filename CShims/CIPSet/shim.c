// Thin libipset shim: runs commands and captures `save` output in-process.
// libipset's headers clash with linux/netfilter.h, so they stay in this file.
#include "CIPSet.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libipset/ipset.h>

/// Collects what libipset prints and the last error it reports.
struct sg_capture {
    char *text;
    size_t length;
    size_t capacity;
    int failed;
    char error[512];
};

static void sg_capture_append(struct sg_capture *capture, const char *text, size_t length)
{
    if (capture->length + length + 1 > capture->capacity) {
        size_t capacity = capture->capacity ? capture->capacity : 4096;
        while (capture->length + length + 1 > capacity)
            capacity *= 2;
        char *grown = realloc(capture->text, capacity);
        if (grown == NULL) {
            capture->failed = 1;
            snprintf(capture->error, sizeof(capture->error), "out of memory");
            return;
        }
        capture->text = grown;
        capture->capacity = capacity;
    }
    memcpy(capture->text + capture->length, text, length);
    capture->length += length;
    capture->text[capture->length] = '\0';
}

static int sg_print(struct ipset_session *session, void *p, const char *format, ...)
{
    (void)session;
    struct sg_capture *capture = p;
    char stack[1024];
    va_list arguments;
    va_start(arguments, format);
    int length = vsnprintf(stack, sizeof(stack), format, arguments);
    va_end(arguments);
    if (length < 0)
        return -1;
    if ((size_t)length < sizeof(stack)) {
        sg_capture_append(capture, stack, length);
    } else {
        char *heap = malloc(length + 1);
        if (heap == NULL)
            return -1;
        va_start(arguments, format);
        vsnprintf(heap, length + 1, format, arguments);
        va_end(arguments);
        sg_capture_append(capture, heap, length);
        free(heap);
    }
    return length;
}

static int sg_custom_error(struct ipset *ipset, void *p, int status, const char *format, ...)
{
    (void)ipset;
    (void)status;
    struct sg_capture *capture = p;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(capture->error, sizeof(capture->error), format, arguments);
    va_end(arguments);
    capture->failed = 1;
    return -1;
}

static int sg_standard_error(struct ipset *ipset, void *p)
{
    struct sg_capture *capture = p;
    struct ipset_session *session = ipset_session(ipset);
    if (ipset_session_report_type(session) == IPSET_ERROR) {
        snprintf(capture->error, sizeof(capture->error), "%s", ipset_session_report_msg(session));
        capture->failed = 1;
    }
    ipset_session_report_reset(session);
    return capture->failed ? -1 : 0;
}

static struct ipset *sg_open(struct sg_capture *capture)
{
    ipset_load_types();
    struct ipset *handle = ipset_init();
    if (handle == NULL)
        return NULL;
    ipset_custom_printf(handle, sg_custom_error, sg_standard_error, sg_print, capture);
    return handle;
}

int sg_ipset_probe(void)
{
    struct sg_capture capture = {0};
    struct ipset *handle = sg_open(&capture);
    if (handle == NULL)
        return -1;
    ipset_fini(handle);
    free(capture.text);
    return 0;
}

int sg_ipset_protocol(void) { return IPSET_PROTOCOL; }

int sg_ipset_run(const char *const *lines, int count, char *error, size_t error_size)
{
    struct sg_capture capture = {0};
    struct ipset *handle = sg_open(&capture);
    if (handle == NULL) {
        snprintf(error, error_size, "cannot open a libipset session");
        return 0;
    }
    int done = 0;
    for (; done < count; done++) {
        // ipset_parse_line edits its argument: give it a copy.
        char *line = strdup(lines[done]);
        if (line == NULL) {
            snprintf(capture.error, sizeof(capture.error), "out of memory");
            capture.failed = 1;
            break;
        }
        int result = ipset_parse_line(handle, line);
        free(line);
        // The return value is not reliable on its own; the callbacks are.
        if (result < 0 || capture.failed) {
            capture.failed = 1;
            break;
        }
    }
    if (capture.failed)
        snprintf(error, error_size, "%s", capture.error[0] ? capture.error : "ipset command failed");
    ipset_fini(handle);
    free(capture.text);
    return done;
}

char *sg_ipset_names(char *error, size_t error_size)
{
    struct sg_capture capture = {0};
    struct ipset *handle = sg_open(&capture);
    if (handle == NULL) {
        snprintf(error, error_size, "cannot open a libipset session");
        return NULL;
    }
    int result = ipset_parse_line(handle, "list -n");
    ipset_fini(handle);
    if (result < 0 || capture.failed) {
        snprintf(error, error_size, "%s", capture.error[0] ? capture.error : "ipset list -n failed");
        free(capture.text);
        return NULL;
    }
    return capture.text ? capture.text : strdup("");
}

char *sg_ipset_save(const char *set, int *missing, char *error, size_t error_size)
{
    struct sg_capture capture = {0};
    *missing = 0;
    struct ipset *handle = sg_open(&capture);
    if (handle == NULL) {
        snprintf(error, error_size, "cannot open a libipset session");
        return NULL;
    }
    char command[64];
    snprintf(command, sizeof(command), set ? "save %.31s" : "save", set);
    int result = ipset_parse_line(handle, command);
    ipset_fini(handle);
    if (result < 0 || capture.failed) {
        *missing = set != NULL && strstr(capture.error, "does not exist") != NULL;
        snprintf(error, error_size, "%s", capture.error[0] ? capture.error : "ipset save failed");
        free(capture.text);
        return NULL;
    }
    if (capture.text == NULL)
        return strdup("");
    return capture.text;
}
