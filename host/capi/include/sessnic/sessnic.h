/* libsessnic C API: cluster-wide TLS session sharing for an existing OpenSSL server.
 *
 * A card is this server's sessnic card, opened from the cluster config (the same TOML
 * file sessnic-server and sessnic-dispatch read) and the name of one [[server]] in it:
 * the device is opened and, when the server has a backplane address, joined to the
 * cluster's UDP backplane, exactly as sessnic-server does. Attaching a card to an
 * SSL_CTX makes the cluster's session table that SSL_CTX's session cache.
 *
 * Errors: every function that can fail returns a sessnic_status (0 = SESSNIC_OK) and
 * sets a per-thread message read with sessnic_last_error(). No function aborts or
 * throws on bad input.
 *
 * Threads: handshakes on an attached SSL_CTX may run on many threads. Open, attach,
 * detach and close are not meant to race with each other on the same handle.
 *
 * Processes: open the card in the process that serves the handshakes, after any fork().
 * A card opened in the process is one backplane node (one UDP port): one process only.
 * When the config gives the server a `card_service` socket, the card lives in the host's
 * card service (sessnic-card) and every process of the host may open it: each gets its
 * own shared-memory rings to the one card.
 */
#ifndef SESSNIC_SESSNIC_H
#define SESSNIC_SESSNIC_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define SESSNIC_API __attribute__((visibility("default")))
#else
#define SESSNIC_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* OpenSSL's SSL_CTX, declared here so this header does not need <openssl/ssl.h>. */
struct ssl_ctx_st;

typedef struct sessnic_card sessnic_card;             /* opaque */
typedef struct sessnic_attachment sessnic_attachment; /* opaque */

typedef enum sessnic_status {
  SESSNIC_OK = 0,
  SESSNIC_ERR_ARGUMENT = 1,  /* a NULL or otherwise invalid argument */
  SESSNIC_ERR_CONFIG = 2,    /* cluster config missing, unreadable or invalid */
  SESSNIC_ERR_NO_SERVER = 3, /* no [[server]] of that name in the config */
  SESSNIC_ERR_KEY_FILE = 4,  /* cluster key file missing, malformed, or readable by group/others */
  SESSNIC_ERR_DEVICE = 5,    /* the device or its backplane node could not be opened */
  SESSNIC_ERR_TLS = 6,       /* the SSL_CTX refused a setting, or is already attached */
  SESSNIC_ERR_INTERNAL = 7   /* anything else (out of memory, ...) */
} sessnic_status;

/* What an attachment did, since it was made. Fields are only ever appended. */
typedef struct sessnic_counters {
  uint64_t stores;        /* sessions written to the card */
  uint64_t store_failed;  /* the card refused, or sealing failed */
  uint64_t too_large;     /* kept in the small local cache instead */
  uint64_t hits;          /* resumptions served from the card */
  uint64_t local_hits;    /* resumptions served from the local cache */
  uint64_t misses;        /* no such session anywhere */
  uint64_t expired;       /* the card found it expired */
  uint64_t device_errors; /* the card answered with an error */
  uint64_t removes;       /* sessions removed by OpenSSL */
  uint64_t rejected;      /* stored entries refused at resumption (bad seal, expired, ...) */
} sessnic_counters;

/* "0.1.0": the library version. SESSNIC_ABI_VERSION is the soname's number. */
SESSNIC_API const char* sessnic_version(void);
#define SESSNIC_ABI_VERSION 1

/* The message of the last failed call on this thread ("" if none). Valid until the
 * next sessnic_* call on the same thread. */
SESSNIC_API const char* sessnic_last_error(void);

/* A fixed description of a status code ("config error", ...). */
SESSNIC_API const char* sessnic_status_string(int status);

/* Checks what sessnic_card_open would use without opening anything: the config parses,
 * names `server_name`, and its key file is valid and private. For configuration tests
 * (nginx -t) in a process that must not open the card. */
SESSNIC_API int sessnic_config_check(const char* config_path, const char* server_name);

/* Opens server `server_name`'s card from the cluster config at `config_path`.
 * On success *out is a new card; close it with sessnic_card_close. */
SESSNIC_API int sessnic_card_open(const char* config_path, const char* server_name, sessnic_card** out);

/* Releases the caller's handle. The card stays open until every attachment made from
 * it is detached. NULL is ignored. */
SESSNIC_API void sessnic_card_close(sessnic_card* card);

/* One line describing the card ("model card 1, backplane transfer on udp 127.0.0.1:18501"). */
SESSNIC_API const char* sessnic_card_describe(const sessnic_card* card);

/* The TLS session-id context name and the session lifetime (seconds) the config gives
 * every server; attach uses the first, the caller may apply the second with
 * SSL_CTX_set_timeout. */
SESSNIC_API const char* sessnic_card_session_context(const sessnic_card* card);
SESSNIC_API uint32_t sessnic_card_session_timeout(const sessnic_card* card);

/* Makes the card the session cache of `ctx` (see docs/integrate.md for what changes on
 * the SSL_CTX). The attachment holds a reference on ctx. */
SESSNIC_API int sessnic_attach(sessnic_card* card, struct ssl_ctx_st* ctx, sessnic_attachment** out);

/* Detaches: the SSL_CTX gets its own cache mode and callbacks back. Call only when no
 * handshake is in progress on that SSL_CTX. NULL is ignored. */
SESSNIC_API void sessnic_detach(sessnic_attachment* attachment);

/* Copies the attachment's counters into *out; `out_size` is sizeof(*out) as the caller
 * was compiled with (older, smaller structs get their prefix). */
SESSNIC_API int sessnic_attachment_counters(const sessnic_attachment* attachment, sessnic_counters* out, size_t out_size);

#ifdef __cplusplus
}
#endif

#endif /* SESSNIC_SESSNIC_H */
