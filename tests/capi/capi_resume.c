/* libsessnic C API, used as an operator would: only <sessnic/sessnic.h> from an installed
 * prefix (pkg-config), compiled as C. Two servers' cards on a loopback UDP backplane
 * (replicate mode) from a generated cluster config; real OpenSSL handshakes over BIO
 * pairs; a session made on one server resumes on the other, TLS 1.2 and 1.3.
 *
 *   capi_resume CLUSTER.toml CERT KEY MISSING_KEY.toml OPEN_KEY.toml VERILATOR.toml VERILATOR_SERVICE.toml
 *   capi_resume version
 */
#define _POSIX_C_SOURCE 200809L
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sessnic/sessnic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures = 0;

#define CHECK(cond, ...)                                          \
  do {                                                            \
    if (!(cond)) {                                                \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                               \
      fprintf(stderr, "\n");                                      \
      ++failures;                                                 \
    }                                                             \
  } while (0)

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static SSL_CTX* server_ctx(const char* cert, const char* key) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
    ERR_print_errors_fp(stderr);
    exit(2);
  }
  return ctx;
}

/* One handshake over a BIO pair, bounded. Offers `offer` (may be NULL); returns the
 * client's session (NULL on failure) and whether it was resumed. */
static SSL_SESSION* handshake(SSL_CTX* sctx, SSL_CTX* cctx, SSL_SESSION* offer, int* resumed) {
  SSL* s = SSL_new(sctx);
  SSL* c = SSL_new(cctx);
  BIO *sb = NULL, *cb = NULL;
  SSL_SESSION* out = NULL;
  int c_done = 0, s_done = 0, round;
  *resumed = 0;
  BIO_new_bio_pair(&sb, 0, &cb, 0);
  SSL_set_bio(s, sb, sb);
  SSL_set_bio(c, cb, cb);
  SSL_set_accept_state(s);
  SSL_set_connect_state(c);
  if (offer) SSL_set_session(c, offer);
  for (round = 0; round < 32 && !(c_done && s_done); ++round) {
    if (!c_done) {
      int rc = SSL_do_handshake(c);
      if (rc == 1) c_done = 1;
      else if (SSL_get_error(c, rc) != SSL_ERROR_WANT_READ) break;
    }
    if (!s_done) {
      int rc = SSL_do_handshake(s);
      if (rc == 1) s_done = 1;
      else if (SSL_get_error(s, rc) != SSL_ERROR_WANT_READ) break;
    }
  }
  if (c_done && s_done) {
    /* TLS 1.3: the ticket comes after the handshake; a read takes it in. */
    char byte;
    int rc = SSL_read(c, &byte, 1);
    if (rc <= 0 && SSL_get_error(c, rc) == SSL_ERROR_WANT_READ) {
      *resumed = SSL_session_reused(c);
      out = SSL_get1_session(c);
    }
    SSL_shutdown(c);
    SSL_shutdown(s);
  } else {
    ERR_print_errors_fp(stderr);
  }
  SSL_free(c);
  SSL_free(s);
  return out;
}

/* Resumes `offer` on sctx; the session is replicated asynchronously, so retry a bounded
 * number of times. Returns the new client session (the 1.3 ticket is single-use). */
static SSL_SESSION* resume(SSL_CTX* sctx, SSL_CTX* cctx, SSL_SESSION* offer, int* resumed) {
  int attempt;
  for (attempt = 0; attempt < 100; ++attempt) {
    SSL_SESSION* got = handshake(sctx, cctx, offer, resumed);
    if (*resumed || !got) return got;
    SSL_SESSION_free(got);
    sleep_ms(10);
  }
  return NULL;
}

static void error_paths(const char* cluster, const char* missing_key, const char* open_key) {
  sessnic_card* card = NULL;
  int rc;

  rc = sessnic_card_open("/nonexistent/sessnic-cluster.toml", "a", &card);
  CHECK(rc == SESSNIC_ERR_CONFIG && card == NULL, "rc=%d %s", rc, sessnic_last_error());
  CHECK(strstr(sessnic_last_error(), "/nonexistent/sessnic-cluster.toml") != NULL, "%s", sessnic_last_error());
  printf("missing config: %s: %s\n", sessnic_status_string(rc), sessnic_last_error());

  rc = sessnic_card_open(cluster, "no-such-server", &card);
  CHECK(rc == SESSNIC_ERR_NO_SERVER && card == NULL, "rc=%d %s", rc, sessnic_last_error());
  CHECK(strstr(sessnic_last_error(), "no-such-server") != NULL, "%s", sessnic_last_error());
  printf("unknown server: %s: %s\n", sessnic_status_string(rc), sessnic_last_error());

  rc = sessnic_card_open(missing_key, "a", &card);
  CHECK(rc == SESSNIC_ERR_KEY_FILE && card == NULL, "rc=%d %s", rc, sessnic_last_error());
  CHECK(strstr(sessnic_last_error(), "missing.key") != NULL, "%s", sessnic_last_error());
  printf("missing key file: %s: %s\n", sessnic_status_string(rc), sessnic_last_error());

  rc = sessnic_card_open(open_key, "a", &card);
  CHECK(rc == SESSNIC_ERR_KEY_FILE && card == NULL, "rc=%d %s", rc, sessnic_last_error());
  CHECK(strstr(sessnic_last_error(), "open.key") != NULL, "%s", sessnic_last_error());
  printf("world-readable key file: %s: %s\n", sessnic_status_string(rc), sessnic_last_error());
  CHECK(sessnic_config_check(open_key, "a") == SESSNIC_ERR_KEY_FILE, "config_check(open key)");

  rc = sessnic_card_open(NULL, "a", &card);
  CHECK(rc == SESSNIC_ERR_ARGUMENT, "rc=%d", rc);
  rc = sessnic_card_open(cluster, "a", NULL);
  CHECK(rc == SESSNIC_ERR_ARGUMENT, "rc=%d", rc);
  rc = sessnic_attach(NULL, NULL, NULL);
  CHECK(rc == SESSNIC_ERR_ARGUMENT && sessnic_last_error()[0] != '\0', "rc=%d", rc);
  CHECK(sessnic_config_check(cluster, "a") == SESSNIC_OK, "config_check: %s", sessnic_last_error());
  CHECK(sessnic_last_error()[0] == '\0', "success leaves no error: %s", sessnic_last_error());
}

/* A device kind the library cannot open in the process is refused by name, with the way
 * to it (the card service) - never silently opened as a model card. With a card_service
 * the service opens the kind, so the same [[server]] passes the check. */
static void device_kind(const char* verilator, const char* verilator_service) {
  sessnic_card* card = NULL;
  int rc = sessnic_card_open(verilator, "a", &card);
  CHECK(rc == SESSNIC_ERR_DEVICE && card == NULL, "rc=%d %s", rc, sessnic_last_error());
  CHECK(strstr(sessnic_last_error(), "device \"verilator\"") != NULL, "%s", sessnic_last_error());
  CHECK(strstr(sessnic_last_error(), "card_service") != NULL, "%s", sessnic_last_error());
  printf("device verilator in the process: %s: %s\n", sessnic_status_string(rc), sessnic_last_error());
  if (card) sessnic_card_close(card);
  rc = sessnic_config_check(verilator, "a");
  CHECK(rc == SESSNIC_ERR_DEVICE && strstr(sessnic_last_error(), "verilator") != NULL, "config_check: rc=%d %s", rc,
        sessnic_last_error());
  rc = sessnic_config_check(verilator, "b"); /* b keeps the model device */
  CHECK(rc == SESSNIC_OK, "config_check b: rc=%d %s", rc, sessnic_last_error());
  rc = sessnic_config_check(verilator_service, "a");
  CHECK(rc == SESSNIC_OK, "config_check with card_service: rc=%d %s", rc, sessnic_last_error());
}

static void share(const char* cluster, const char* cert, const char* key, int version) {
  sessnic_card *card_a = NULL, *card_b = NULL, *again = NULL;
  sessnic_attachment *att_a = NULL, *att_b = NULL, *twice = NULL;
  SSL_CTX* a = server_ctx(cert, key);
  SSL_CTX* b = server_ctx(cert, key);
  SSL_CTX* client = SSL_CTX_new(TLS_client_method());
  SSL_SESSION *first, *on_b, *on_a;
  sessnic_counters ca, cb;
  int resumed = 0, rc;

  SSL_CTX_set_min_proto_version(client, version);
  SSL_CTX_set_max_proto_version(client, version);

  rc = sessnic_card_open(cluster, "a", &card_a);
  CHECK(rc == SESSNIC_OK, "open a: %s", sessnic_last_error());
  rc = sessnic_card_open(cluster, "b", &card_b);
  CHECK(rc == SESSNIC_OK, "open b: %s", sessnic_last_error());
  if (!card_a || !card_b) exit(1);
  printf("card a: %s\ncard b: %s\n", sessnic_card_describe(card_a), sessnic_card_describe(card_b));
  CHECK(strcmp(sessnic_card_session_context(card_a), "capi-test") == 0, "%s", sessnic_card_session_context(card_a));
  CHECK(sessnic_card_session_timeout(card_b) == 300, "%u", (unsigned)sessnic_card_session_timeout(card_b));
  CHECK(strstr(sessnic_card_describe(card_a), "model card 1, backplane replicate") != NULL, "describe");

  /* The same server's card twice in one host: its backplane port is taken. */
  rc = sessnic_card_open(cluster, "a", &again);
  CHECK(rc == SESSNIC_ERR_DEVICE && again == NULL, "second open of a: rc=%d", rc);
  printf("card a twice: %s: %s\n", sessnic_status_string(rc), sessnic_last_error());

  CHECK(sessnic_attach(card_a, a, &att_a) == SESSNIC_OK, "attach a: %s", sessnic_last_error());
  CHECK(sessnic_attach(card_b, b, &att_b) == SESSNIC_OK, "attach b: %s", sessnic_last_error());
  rc = sessnic_attach(card_a, a, &twice);
  CHECK(rc == SESSNIC_ERR_TLS && twice == NULL, "attach twice: rc=%d", rc);
  printf("attach twice: %s: %s\n", sessnic_status_string(rc), sessnic_last_error());
  /* The attachments keep the cards open. */
  sessnic_card_close(card_a);
  sessnic_card_close(card_b);

  first = handshake(a, client, NULL, &resumed);
  CHECK(first != NULL && !resumed, "full handshake on a (resumed=%d)", resumed);
  on_b = first ? resume(b, client, first, &resumed) : NULL;
  CHECK(on_b != NULL && resumed, "TLS %x: session from a resumes on b", version);
  on_a = on_b ? resume(a, client, on_b, &resumed) : NULL;
  CHECK(on_a != NULL && resumed, "TLS %x: session from b resumes on a", version);

  CHECK(sessnic_attachment_counters(att_a, &ca, sizeof ca) == SESSNIC_OK, "counters a");
  CHECK(sessnic_attachment_counters(att_b, &cb, sizeof cb) == SESSNIC_OK, "counters b");
  printf("TLS %x: a stores=%llu hits=%llu misses=%llu | b stores=%llu hits=%llu misses=%llu\n", version,
         (unsigned long long)ca.stores, (unsigned long long)ca.hits, (unsigned long long)ca.misses,
         (unsigned long long)cb.stores, (unsigned long long)cb.hits, (unsigned long long)cb.misses);
  CHECK(ca.stores >= 1 && ca.hits >= 1 && cb.hits >= 1, "counters show the store on a and hits on both");
  CHECK(ca.rejected == 0 && cb.rejected == 0, "no rejected entries");

  SSL_SESSION_free(first);
  SSL_SESSION_free(on_b);
  SSL_SESSION_free(on_a);
  sessnic_detach(att_a);
  sessnic_detach(att_b);
  SSL_CTX_free(a);
  SSL_CTX_free(b);
  SSL_CTX_free(client);
}

/* Cards reached through each host's card service (sessnic-card, [[server]] card_service):
 * two handles on card a (as two worker processes would have) share its sessions, b gets
 * them over the backplane, and a server whose service is not running is a clear error. */
static void share_service(const char* cluster, const char* cert, const char* key, int version) {
  sessnic_card *a1 = NULL, *a2 = NULL, *b = NULL, *down = NULL;
  sessnic_attachment *att1 = NULL, *att2 = NULL, *attb = NULL;
  SSL_CTX* ctx1 = server_ctx(cert, key);
  SSL_CTX* ctx2 = server_ctx(cert, key);
  SSL_CTX* ctxb = server_ctx(cert, key);
  SSL_CTX* client = SSL_CTX_new(TLS_client_method());
  SSL_SESSION *first, *on_a2, *on_b;
  int resumed = 0, rc;

  SSL_CTX_set_min_proto_version(client, version);
  SSL_CTX_set_max_proto_version(client, version);
  CHECK(sessnic_card_open(cluster, "a", &a1) == SESSNIC_OK, "open a: %s", sessnic_last_error());
  CHECK(sessnic_card_open(cluster, "a", &a2) == SESSNIC_OK, "open a again: %s", sessnic_last_error());
  CHECK(sessnic_card_open(cluster, "b", &b) == SESSNIC_OK, "open b: %s", sessnic_last_error());
  if (!a1 || !a2 || !b) exit(1);
  printf("card a via service: %s\n", sessnic_card_describe(a1));
  CHECK(strstr(sessnic_card_describe(a1), "model card 1, backplane replicate") != NULL &&
            strstr(sessnic_card_describe(a1), "card service") != NULL, "describe: %s", sessnic_card_describe(a1));
  rc = sessnic_card_open(cluster, "c", &down);
  CHECK(rc == SESSNIC_ERR_DEVICE && down == NULL && strstr(sessnic_last_error(), "connect") != NULL,
        "service not running: rc=%d %s", rc, sessnic_last_error());
  printf("card service not running: %s: %s\n", sessnic_status_string(rc), sessnic_last_error());

  CHECK(sessnic_attach(a1, ctx1, &att1) == SESSNIC_OK, "attach a1: %s", sessnic_last_error());
  CHECK(sessnic_attach(a2, ctx2, &att2) == SESSNIC_OK, "attach a2: %s", sessnic_last_error());
  CHECK(sessnic_attach(b, ctxb, &attb) == SESSNIC_OK, "attach b: %s", sessnic_last_error());
  sessnic_card_close(a1);
  sessnic_card_close(a2);
  sessnic_card_close(b);

  first = handshake(ctx1, client, NULL, &resumed);
  CHECK(first != NULL && !resumed, "full handshake on a1 (resumed=%d)", resumed);
  on_a2 = first ? resume(ctx2, client, first, &resumed) : NULL;
  CHECK(on_a2 != NULL && resumed, "TLS %x: session from a1 resumes on a2 (same card service)", version);
  on_b = on_a2 ? resume(ctxb, client, on_a2, &resumed) : NULL;
  CHECK(on_b != NULL && resumed, "TLS %x: and on b (other host's service, backplane)", version);

  SSL_SESSION_free(first);
  SSL_SESSION_free(on_a2);
  SSL_SESSION_free(on_b);
  sessnic_detach(att1);
  sessnic_detach(att2);
  sessnic_detach(attb);
  SSL_CTX_free(ctx1);
  SSL_CTX_free(ctx2);
  SSL_CTX_free(ctxb);
  SSL_CTX_free(client);
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "version") == 0) {
    printf("libsessnic %s\n", sessnic_version());
    return sessnic_version()[0] ? 0 : 1;
  }
  if (argc == 5 && strcmp(argv[1], "service") == 0) {
    share_service(argv[2], argv[3], argv[4], TLS1_2_VERSION);
    share_service(argv[2], argv[3], argv[4], TLS1_3_VERSION);
    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
  }
  if (argc != 8) {
    fprintf(stderr, "usage: %s CLUSTER.toml CERT KEY MISSING_KEY.toml OPEN_KEY.toml VERILATOR.toml VERILATOR_SERVICE.toml\n",
            argv[0]);
    return 2;
  }
  error_paths(argv[1], argv[4], argv[5]);
  device_kind(argv[6], argv[7]);
  share(argv[1], argv[2], argv[3], TLS1_2_VERSION);
  /* Cards closed and reopened: the same UDP ports again, a fresh table. */
  share(argv[1], argv[2], argv[3], TLS1_3_VERSION);
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  else printf("capi_resume: all checks passed\n");
  return failures ? 1 : 0;
}
