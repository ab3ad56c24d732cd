/*
 * ngx_http_sessnic_module: a server block's TLS sessions live in the sessnic cluster.
 *
 *   load_module modules/ngx_http_sessnic_module.so;
 *   http {
 *     sessnic_card /etc/sessnic/cluster.toml;    # http or server level
 *     server {
 *       listen 443 ssl;
 *       ssl_certificate ...; ssl_certificate_key ...;
 *       ssl_session_tickets off;                 # TLS 1.3 resumes by stateful PSK
 *       sessnic_server flights;                  # this block's SSL_CTX uses card "flights"
 *     }
 *   }
 *
 * The configuration is checked where nginx reads it (nginx -t included): the cluster
 * config parses, names the server, its key file is valid and private. The card is
 * opened in each worker after fork (init_process), never in the master:
 *  - with a `card_service` socket for the server in the cluster config, every worker
 *    attaches to the host's card service (sessnic-card) and gets its own shared-memory
 *    rings to the one card: any worker_processes, and a reload or a killed worker loses
 *    nothing, since the card lives in the service;
 *  - without it, the worker opens the card itself (device + backplane node with its
 *    threads and UDP port): one worker per card, worker_processes 1.
 * A worker that cannot open its card yet (the old worker of a reload still holds the UDP
 * port, or the card service is not up) retries in the background.
 */
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sessnic/sessnic.h>

#define SESSNIC_RETRY_MS 100
#define SESSNIC_RETRY_MAX 600 /* 60 s: an old worker draining its connections */

typedef struct {
    ngx_str_t card;   /* cluster config path */
    ngx_str_t server; /* [[server]] name in it */
} ngx_http_sessnic_srv_conf_t;

typedef struct {
    sessnic_card *card;
    u_char       *path;
    u_char       *server;
} ngx_http_sessnic_open_card_t;

/* Worker-side state, one per configuration cycle. */
typedef struct {
    ngx_array_t   cards;       /* ngx_http_sessnic_open_card_t */
    ngx_array_t   attachments; /* sessnic_attachment * */
    ngx_array_t   attached;    /* SSL_CTX * already attached */
    ngx_event_t   retry;
    ngx_uint_t    attempts;
    ngx_cycle_t  *cycle;
} ngx_http_sessnic_main_conf_t;

static void *ngx_http_sessnic_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_sessnic_create_srv_conf(ngx_conf_t *cf);
static char *ngx_http_sessnic_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child);
static ngx_int_t ngx_http_sessnic_init_process(ngx_cycle_t *cycle);
static void ngx_http_sessnic_exit_process(ngx_cycle_t *cycle);

static ngx_command_t ngx_http_sessnic_commands[] = {
    { ngx_string("sessnic_card"),
      NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_http_sessnic_srv_conf_t, card),
      NULL },
    { ngx_string("sessnic_server"),
      NGX_HTTP_SRV_CONF | NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_http_sessnic_srv_conf_t, server),
      NULL },
    ngx_null_command
};

static ngx_http_module_t ngx_http_sessnic_module_ctx = {
    NULL,                               /* preconfiguration */
    NULL,                               /* postconfiguration */
    ngx_http_sessnic_create_main_conf,  /* create main configuration */
    NULL,                               /* init main configuration */
    ngx_http_sessnic_create_srv_conf,   /* create server configuration */
    ngx_http_sessnic_merge_srv_conf,    /* merge server configuration */
    NULL,                               /* create location configuration */
    NULL                                /* merge location configuration */
};

ngx_module_t ngx_http_sessnic_module = {
    NGX_MODULE_V1,
    &ngx_http_sessnic_module_ctx,   /* module context */
    ngx_http_sessnic_commands,      /* module directives */
    NGX_HTTP_MODULE,                /* module type */
    NULL,                           /* init master */
    NULL,                           /* init module */
    ngx_http_sessnic_init_process,  /* init process */
    NULL,                           /* init thread */
    NULL,                           /* exit thread */
    ngx_http_sessnic_exit_process,  /* exit process */
    NULL,                           /* exit master */
    NGX_MODULE_V1_PADDING
};

static void *
ngx_http_sessnic_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_sessnic_main_conf_t *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_sessnic_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }
    if (ngx_array_init(&mcf->cards, cf->pool, 2, sizeof(ngx_http_sessnic_open_card_t)) != NGX_OK
        || ngx_array_init(&mcf->attachments, cf->pool, 2, sizeof(sessnic_attachment *)) != NGX_OK
        || ngx_array_init(&mcf->attached, cf->pool, 2, sizeof(void *)) != NGX_OK)
    {
        return NULL;
    }
    return mcf;
}

static void *
ngx_http_sessnic_create_srv_conf(ngx_conf_t *cf)
{
    /* ngx_pcalloc: both strings start unset (len 0, data NULL). */
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_sessnic_srv_conf_t));
}

static char *
ngx_http_sessnic_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_sessnic_srv_conf_t *prev = parent;
    ngx_http_sessnic_srv_conf_t *conf = child;
    ngx_http_ssl_srv_conf_t     *sscf;
    int                          rc;

    ngx_conf_merge_str_value(conf->card, prev->card, "");
    ngx_conf_merge_str_value(conf->server, prev->server, "");

    if (conf->server.len == 0) {
        return NGX_CONF_OK;
    }
    if (conf->card.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "sessnic: \"sessnic_server %V\" needs \"sessnic_card\" (the cluster config) "
                           "in this server block or at http level", &conf->server);
        return NGX_CONF_ERROR;
    }
    /* Relative paths are relative to nginx's conf prefix; the result is NUL-terminated. */
    if (ngx_conf_full_name(cf->cycle, &conf->card, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* The ssl module's merge has run for this block (it precedes dynamic modules). */
    sscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_ssl_module);
    if (sscf == NULL || sscf->ssl.ctx == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "sessnic: \"sessnic_server %V\" is in a server block without TLS "
                           "(no ssl_certificate)", &conf->server);
        return NGX_CONF_ERROR;
    }

    rc = sessnic_config_check((const char *) conf->card.data, (const char *) conf->server.data);
    if (rc != SESSNIC_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "sessnic: %s", sessnic_last_error());
        return NGX_CONF_ERROR;
    }
    return NGX_CONF_OK;
}

/* Opens (once per worker) the card for (path, server). NULL when it cannot be opened yet. */
static sessnic_card *
ngx_http_sessnic_card(ngx_http_sessnic_main_conf_t *mcf, ngx_http_sessnic_srv_conf_t *conf,
                      ngx_uint_t log_level)
{
    ngx_http_sessnic_open_card_t *open = mcf->cards.elts;
    ngx_uint_t                    i;
    sessnic_card                 *card = NULL;
    int                           rc;

    for (i = 0; i < mcf->cards.nelts; i++) {
        if (ngx_strcmp(open[i].path, conf->card.data) == 0
            && ngx_strcmp(open[i].server, conf->server.data) == 0)
        {
            return open[i].card;
        }
    }
    rc = sessnic_card_open((const char *) conf->card.data, (const char *) conf->server.data, &card);
    if (rc != SESSNIC_OK) {
        ngx_log_error(log_level, mcf->cycle->log, 0, "sessnic: server \"%V\": %s",
                      &conf->server, sessnic_last_error());
        return NULL;
    }
    open = ngx_array_push(&mcf->cards);
    if (open == NULL) {
        sessnic_card_close(card);
        return NULL;
    }
    open->card = card;
    open->path = conf->card.data;
    open->server = conf->server.data;
    ngx_log_error(NGX_LOG_NOTICE, mcf->cycle->log, 0, "sessnic: server \"%V\": %s",
                  &conf->server, sessnic_card_describe(card));
    return card;
}

/* Attaches every sessnic server block's SSL_CTX whose card can be opened now.
 * Returns the number of blocks still waiting for their card. */
static ngx_uint_t
ngx_http_sessnic_attach_all(ngx_http_sessnic_main_conf_t *mcf, ngx_uint_t log_level)
{
    ngx_http_core_main_conf_t    *cmcf;
    ngx_http_core_srv_conf_t    **cscfp;
    ngx_http_sessnic_srv_conf_t  *conf;
    ngx_http_ssl_srv_conf_t      *sscf;
    sessnic_attachment           *att, **slot;
    sessnic_card                 *card;
    void                        **done;
    ngx_uint_t                    s, j, waiting = 0;
    ngx_flag_t                    seen;

    cmcf = ngx_http_cycle_get_module_main_conf(mcf->cycle, ngx_http_core_module);
    cscfp = cmcf->servers.elts;
    for (s = 0; s < cmcf->servers.nelts; s++) {
        conf = cscfp[s]->ctx->srv_conf[ngx_http_sessnic_module.ctx_index];
        sscf = cscfp[s]->ctx->srv_conf[ngx_http_ssl_module.ctx_index];
        if (conf->server.len == 0 || sscf->ssl.ctx == NULL) {
            continue;
        }
        done = mcf->attached.elts;
        seen = 0;
        for (j = 0; j < mcf->attached.nelts; j++) {
            if (done[j] == sscf->ssl.ctx) {
                seen = 1;
            }
        }
        if (seen) {
            continue;
        }
        card = ngx_http_sessnic_card(mcf, conf, log_level);
        if (card == NULL) {
            waiting++;
            continue;
        }
        if (sessnic_attach(card, sscf->ssl.ctx, &att) != SESSNIC_OK) {
            ngx_log_error(NGX_LOG_EMERG, mcf->cycle->log, 0, "sessnic: server \"%V\": %s",
                          &conf->server, sessnic_last_error());
            continue;
        }
        slot = ngx_array_push(&mcf->attachments);
        done = ngx_array_push(&mcf->attached);
        if (slot == NULL || done == NULL) {
            sessnic_detach(att);
            continue;
        }
        *slot = att;
        *done = sscf->ssl.ctx;
    }
    return waiting;
}

static void
ngx_http_sessnic_retry(ngx_event_t *ev)
{
    ngx_http_sessnic_main_conf_t *mcf = ev->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }
    mcf->attempts++;
    if (ngx_http_sessnic_attach_all(mcf, NGX_LOG_DEBUG) == 0) {
        ngx_log_error(NGX_LOG_NOTICE, ev->log, 0, "sessnic: card opened after %ui retries", mcf->attempts);
        return;
    }
    if (mcf->attempts >= SESSNIC_RETRY_MAX) {
        ngx_http_sessnic_attach_all(mcf, NGX_LOG_EMERG);
        ngx_log_error(NGX_LOG_EMERG, ev->log, 0,
                      "sessnic: giving up opening the card; this worker serves without session sharing");
        return;
    }
    ngx_add_timer(ev, SESSNIC_RETRY_MS);
}

static ngx_int_t
ngx_http_sessnic_init_process(ngx_cycle_t *cycle)
{
    ngx_http_sessnic_main_conf_t *mcf;

    if (ngx_process != NGX_PROCESS_WORKER && ngx_process != NGX_PROCESS_SINGLE) {
        return NGX_OK;
    }
    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_sessnic_module);
    if (mcf == NULL) {
        return NGX_OK;
    }
    mcf->cycle = cycle;
    /* The card's UDP port may still be held by a worker of the previous configuration
     * (reload): retry in the background instead of failing the worker. */
    if (ngx_http_sessnic_attach_all(mcf, NGX_LOG_WARN) != 0) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0, "sessnic: retrying every %d ms", SESSNIC_RETRY_MS);
        mcf->retry.handler = ngx_http_sessnic_retry;
        mcf->retry.data = mcf;
        mcf->retry.log = cycle->log;
        mcf->retry.cancelable = 1;
        ngx_add_timer(&mcf->retry, SESSNIC_RETRY_MS);
    }
    return NGX_OK;
}

static void
ngx_http_sessnic_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_sessnic_main_conf_t  *mcf;
    ngx_http_sessnic_open_card_t  *open;
    sessnic_attachment           **att;
    ngx_uint_t                     i;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_sessnic_module);
    if (mcf == NULL || mcf->cycle == NULL) {
        return;
    }
    att = mcf->attachments.elts;
    for (i = 0; i < mcf->attachments.nelts; i++) {
        sessnic_detach(att[i]);
    }
    mcf->attachments.nelts = 0;
    open = mcf->cards.elts;
    for (i = 0; i < mcf->cards.nelts; i++) {
        sessnic_card_close(open[i].card);
    }
    mcf->cards.nelts = 0;
}
