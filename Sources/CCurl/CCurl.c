#include "CCurl.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

// Only the entry points used, resolved once; the header gives their types and the option numbers.
static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    const char *(*easy_strerror)(CURLcode);
    int loaded;
    char failure[120];
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void) {
    const char *names[] = {"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so", "libcurl.4.dylib"};
    void *library = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !library; i++) {
        library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    }
    if (!library) {
        snprintf(curl.failure, sizeof curl.failure, "libcurl is not installed (libcurl.so.4; Debian: apt install libcurl4)");
        return;
    }
#define RESOLVE(field, symbol)                                                                   \
    *(void **)(&curl.field) = dlsym(library, symbol);                                            \
    if (!curl.field) {                                                                           \
        snprintf(curl.failure, sizeof curl.failure, "libcurl lacks %s", symbol);                \
        return;                                                                                  \
    }
    RESOLVE(global_init, "curl_global_init")
    RESOLVE(easy_init, "curl_easy_init")
    RESOLVE(easy_setopt, "curl_easy_setopt")
    RESOLVE(easy_perform, "curl_easy_perform")
    RESOLVE(easy_getinfo, "curl_easy_getinfo")
    RESOLVE(easy_cleanup, "curl_easy_cleanup")
    RESOLVE(slist_append, "curl_slist_append")
    RESOLVE(slist_free_all, "curl_slist_free_all")
    RESOLVE(easy_strerror, "curl_easy_strerror")
#undef RESOLVE
    if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(curl.failure, sizeof curl.failure, "libcurl failed to initialise");
        return;
    }
    curl.loaded = 1;
}

// The response body is not needed: read and dropped.
static size_t discard(char *data, size_t size, size_t count, void *context) {
    (void)data;
    (void)context;
    return size * count;
}

// Keeps the Retry-After header of the final response (headers of an earlier 100 Continue are
// replaced when the status line of the next response arrives).
static size_t header(char *data, size_t size, size_t count, void *context) {
    CCurl_result *result = context;
    size_t length = size * count;
    static const char name[] = "retry-after:";
    if (length >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        result->retry_after[0] = 0;
    } else if (length > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        size_t start = sizeof name - 1;
        while (start < length && (data[start] == ' ' || data[start] == '\t')) start++;
        size_t end = length;
        while (end > start && (data[end - 1] == '\r' || data[end - 1] == '\n' || data[end - 1] == ' ')) end--;
        size_t copy = end - start;
        if (copy >= sizeof result->retry_after) copy = sizeof result->retry_after - 1;
        memcpy(result->retry_after, data + start, copy);
        result->retry_after[copy] = 0;
    }
    return length;
}

void CCurl_post(const char *url, const char *const *headers, int header_count,
                        const unsigned char *body, size_t body_length, long timeout_ms,
                        CCurl_result *result) {
    memset(result, 0, sizeof *result);
    pthread_once(&load_once, load);
    if (!curl.loaded) {
        result->error = -1;
        snprintf(result->reason, sizeof result->reason, "%s", curl.failure);
        return;
    }
    CURL *handle = curl.easy_init();
    if (!handle) {
        result->error = -1;
        snprintf(result->reason, sizeof result->reason, "libcurl could not start a request");
        return;
    }
    struct curl_slist *list = NULL;
    for (int i = 0; i < header_count; i++) {
        struct curl_slist *next = curl.slist_append(list, headers[i]);
        if (next) list = next;
    }
    // No "Expect: 100-continue" round trip for small JSON bodies.
    struct curl_slist *next = curl.slist_append(list, "Expect:");
    if (next) list = next;
    curl.easy_setopt(handle, CURLOPT_URL, url);
    curl.easy_setopt(handle, CURLOPT_POST, 1L);
    // Never NULL (an empty Swift array has no storage): libcurl documents a NULL body as "use the
    // read callback", whose default reads stdin; the explicit size of 0 below also prevents that.
    curl.easy_setopt(handle, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
    curl.easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
    curl.easy_setopt(handle, CURLOPT_HTTPHEADER, list);
    curl.easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl.easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl.easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
    curl.easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl.easy_setopt(handle, CURLOPT_WRITEFUNCTION, discard);
    curl.easy_setopt(handle, CURLOPT_HEADERFUNCTION, header);
    curl.easy_setopt(handle, CURLOPT_HEADERDATA, result);
    CURLcode code = curl.easy_perform(handle);
    if (code == CURLE_OK) {
        curl.easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &result->status);
    } else {
        result->error = (int)code;
        result->retry_after[0] = 0;
        // libcurl's messages name the failure, never the URL.
        snprintf(result->reason, sizeof result->reason, "%s", curl.easy_strerror(code));
    }
    curl.slist_free_all(list);
    curl.easy_cleanup(handle);
}
