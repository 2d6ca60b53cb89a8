/* kvguard version: what was built, how, and which library versions are
 * actually loaded (read at run time: a distro upgrade changes them without a
 * rebuild, and bug reports need the real ones). */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <yaml.h>

#include "cli/cli.h"

#ifndef KVG_VERSION
#define KVG_VERSION "unknown"
#endif

static const char *build_type(void)
{
#ifdef KVG_BUILD_TYPE
    return KVG_BUILD_TYPE;
#elif defined(__OPTIMIZE__) && defined(NDEBUG)
    return "optimized";
#elif defined(__OPTIMIZE__)
    return "optimized, assertions on";
#else
    return "debug";
#endif
}

static const char *compiler(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown";
#endif
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KVG_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(KVG_ASAN)
#define KVG_ASAN 1
#endif

int kvg_cmd_version(int argc, char **argv)
{
    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: kvguard version\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "kvguard version: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    printf("kvguard %s\n", KVG_VERSION);
    printf("build:         %s\n", build_type());
    printf("compiler:      %s\n", compiler());
#ifdef KVG_ASAN
    printf("sanitizers:    address,undefined\n");
#else
    printf("sanitizers:    none\n");
#endif
    printf("libmicrohttpd: %s\n", MHD_get_version());
    printf("gnutls:        %s\n", gnutls_check_version(NULL));
    printf("openssl:       %s\n", OpenSSL_version(OPENSSL_VERSION));
    printf("json-c:        %s\n", json_c_version());
    printf("libyaml:       %s\n", yaml_get_version_string());
    printf("libcurl:       %s (%s)\n", cv->version,
           cv->ssl_version ? cv->ssl_version : "no TLS");
    return 0;
}
