// HTTP POST through libcurl, loaded with dlopen on first use.
//
// Webhook delivery is the only network use keywatch has. Linking an HTTP client (Foundation's
// URLSession pulls in libcurl and about thirty libraries behind it) made every command, `parse`
// included, map and relocate those libraries at start-up: about 6 ms per run. Loading libcurl
// only when a webhook is first posted keeps that cost where it is used.
#ifndef CCURL_H
#define CCURL_H

#include <stddef.h>

/// What a POST came to.
typedef struct {
    /// The HTTP status; 0 when no answer came.
    long status;
    /// The Retry-After header's value, NUL-terminated; empty when absent.
    char retry_after[128];
    /// When no answer came: the libcurl error code (CURLcode), or -1 when libcurl could not be loaded.
    int error;
    /// A short reason without the URL, NUL-terminated; empty on an answer.
    char reason[160];
} CCurl_result;

/// POSTs `body` to `url` with `headers` ("Name: value" strings), waiting at most `timeout_ms`
/// for the whole exchange. Thread-safe; blocks the calling thread. Redirects are not followed.
void CCurl_post(const char *url, const char *const *headers, int header_count,
                        const unsigned char *body, size_t body_length, long timeout_ms,
                        CCurl_result *result);

#endif
