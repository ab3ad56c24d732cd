// The C API of libsessnic (include/sessnic/sessnic.h) over the C++ pieces: the cluster
// config, the key file, the server's card (cluster_card.hpp) and attach(). This file
// is the one boundary where exceptions become status codes and a per-thread message.
#include "sessnic/sessnic.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "cluster_config.hpp"
#include "cluster_card.hpp"
#include "sessnic/open_device.hpp"
#include "sessnic/attach.hpp"
#include "sessnic/key_file.hpp"
#include "sessnic/seal.hpp"
#include "sessnic/shm/service_device.hpp"

namespace {

// What a card handle and its attachments share: an attachment keeps the card (device,
// backplane node, sealer) alive after the caller closed its handle.
struct CardState {
  sessnic::config::ClusterConfig cfg;
  std::string server;
  std::unique_ptr<sessnic::Sealer> sealer;
  std::unique_ptr<sessnic::config::ClusterCard> card;     // the card in this process, or
  std::unique_ptr<sessnic::shm::ServiceDevice> service;  // the host's card service ([[server]] card_service)
  std::string description;

  sessnic::Device& device() { return service ? static_cast<sessnic::Device&>(*service) : card->device(); }
};

thread_local std::string last_error;

int fail(sessnic_status status, std::string message) {
  last_error = std::move(message);
  return status;
}

// In the process libsessnic opens only the model device: the Verilated cards and XRT are
// not linked into the shared library. Another kind is refused, never silently replaced
// by a model card (the operator asked for that card); the host's card service opens any
// kind its build has, so that is the way to it.
int check_device(const char* config_path, const sessnic::config::ServerConfig& self) {
  if (self.card_service || self.device == "model") return SESSNIC_OK;
  return fail(SESSNIC_ERR_DEVICE,
              fmt::format("server '{}': device \"{}\" cannot be opened by libsessnic in this process (it opens only "
                          "\"model\"); run the host's card service (sessnic-card --config {} --server {}) and give the "
                          "server card_service = \"/run/sessnic/{}.sock\" in {}, or set device = \"model\"",
                          self.name, self.device, config_path, self.name, self.name, config_path));
}

// Parses the config, finds the server and loads its key file: the checks shared by
// sessnic_config_check and sessnic_card_open (including the device kind, so `nginx -t`
// reports a kind this library cannot open). Returns SESSNIC_OK or a status with
// last_error set; `keys` is filled on success.
int load(const char* config_path, const char* server_name, sessnic::config::ClusterConfig& cfg,
         std::unique_ptr<sessnic::Keyring>& keys) {
  if (!config_path || !*config_path) return fail(SESSNIC_ERR_ARGUMENT, "no cluster config path given");
  if (!server_name || !*server_name) return fail(SESSNIC_ERR_ARGUMENT, "no server name given");
  try {
    cfg = sessnic::config::load_cluster_config(config_path);
  } catch (const std::exception& e) {
    return fail(SESSNIC_ERR_CONFIG, fmt::format("cluster config: {}", e.what()));
  }
  if (!cfg.find_server(server_name)) {
    std::string names;
    for (const auto& s : cfg.servers) names += (names.empty() ? "" : ", ") + s.name;
    return fail(SESSNIC_ERR_NO_SERVER,
                fmt::format("{}: no [[server]] named '{}' (servers: {})", config_path, server_name, names));
  }
  if (int rc = check_device(config_path, *cfg.find_server(server_name)); rc != SESSNIC_OK) return rc;
  try {
    keys = std::make_unique<sessnic::Keyring>(sessnic::load_key_file(cfg.key_file));
  } catch (const std::exception& e) {
    return fail(SESSNIC_ERR_KEY_FILE, e.what());  // names the file and the fix
  }
  return SESSNIC_OK;
}

}  // namespace

struct sessnic_card {
  std::shared_ptr<CardState> state;
};

struct sessnic_attachment {
  std::shared_ptr<CardState> card;  // declared first: destroyed after the attachment
  std::unique_ptr<sessnic::Attachment> attachment;
};

extern "C" {

const char* sessnic_version(void) { return SESSNIC_VERSION_STRING; }

const char* sessnic_last_error(void) { return last_error.c_str(); }

const char* sessnic_status_string(int status) {
  switch (status) {
    case SESSNIC_OK: return "ok";
    case SESSNIC_ERR_ARGUMENT: return "invalid argument";
    case SESSNIC_ERR_CONFIG: return "cluster config error";
    case SESSNIC_ERR_NO_SERVER: return "no such server in the cluster config";
    case SESSNIC_ERR_KEY_FILE: return "cluster key file error";
    case SESSNIC_ERR_DEVICE: return "card could not be opened";
    case SESSNIC_ERR_TLS: return "SSL_CTX could not be attached";
    case SESSNIC_ERR_INTERNAL: return "internal error";
    default: return "unknown status";
  }
}

int sessnic_config_check(const char* config_path, const char* server_name) {
  last_error.clear();
  try {
    sessnic::config::ClusterConfig cfg;
    std::unique_ptr<sessnic::Keyring> keys;
    return load(config_path, server_name, cfg, keys);
  } catch (const std::exception& e) {
    return fail(SESSNIC_ERR_INTERNAL, e.what());
  }
}

int sessnic_card_open(const char* config_path, const char* server_name, sessnic_card** out) {
  last_error.clear();
  if (!out) return fail(SESSNIC_ERR_ARGUMENT, "sessnic_card_open: out is NULL");
  *out = nullptr;
  try {
    auto state = std::make_shared<CardState>();
    std::unique_ptr<sessnic::Keyring> keys;
    if (int rc = load(config_path, server_name, state->cfg, keys); rc != SESSNIC_OK) return rc;
    state->server = server_name;
    const auto& self = *state->cfg.find_server(server_name);
    try {
      state->sealer = std::make_unique<sessnic::Sealer>(*keys);
      if (self.card_service) {
        // The host's card service owns device and backplane node; this process gets rings.
        sessnic::shm::ServiceDeviceOptions so;
        so.socket = *self.card_service;
        state->service = std::make_unique<sessnic::shm::ServiceDevice>(so);
        if (state->service->card_id() != self.card)
          throw std::runtime_error(fmt::format("card service {} holds card {}, the config gives this server card {}",
                                               so.socket.string(), state->service->card_id(), self.card));
        state->description = fmt::format("{} (card service {})", state->service->description(), so.socket.string());
      } else {
        // The model device (load() refused every other kind: check_device).
        sessnic::DeviceConfig dc;
        dc.card_id = self.card;
        state->card = std::make_unique<sessnic::config::ClusterCard>(state->cfg, self, *keys, sessnic::make_model_device(dc));
        state->description = state->card->description();
      }
    } catch (const std::exception& e) {
      return fail(SESSNIC_ERR_DEVICE, fmt::format("server '{}': card: {}", server_name, e.what()));
    }
    *out = new sessnic_card{std::move(state)};
    return SESSNIC_OK;
  } catch (const std::bad_alloc&) {
    return fail(SESSNIC_ERR_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(SESSNIC_ERR_INTERNAL, e.what());
  }
}

void sessnic_card_close(sessnic_card* card) { delete card; }

const char* sessnic_card_describe(const sessnic_card* card) {
  return card ? card->state->description.c_str() : "";
}

const char* sessnic_card_session_context(const sessnic_card* card) {
  return card ? card->state->cfg.tls.session_context.c_str() : "";
}

uint32_t sessnic_card_session_timeout(const sessnic_card* card) {
  return card ? card->state->cfg.tls.session_timeout_s : 0;
}

int sessnic_attach(sessnic_card* card, struct ssl_ctx_st* ctx, sessnic_attachment** out) {
  last_error.clear();
  if (!out) return fail(SESSNIC_ERR_ARGUMENT, "sessnic_attach: out is NULL");
  *out = nullptr;
  if (!card) return fail(SESSNIC_ERR_ARGUMENT, "sessnic_attach: card is NULL");
  if (!ctx) return fail(SESSNIC_ERR_ARGUMENT, "sessnic_attach: SSL_CTX is NULL");
  try {
    auto a = std::make_unique<sessnic_attachment>();
    a->card = card->state;
    sessnic::AttachOptions o;
    o.sealer = a->card->sealer.get();
    o.service = a->card->cfg.tls.session_context;
    try {
      a->attachment = sessnic::attach(ctx, a->card->device(), o);
    } catch (const std::exception& e) {
      return fail(SESSNIC_ERR_TLS, fmt::format("attach to SSL_CTX: {}", e.what()));
    }
    *out = a.release();
    return SESSNIC_OK;
  } catch (const std::bad_alloc&) {
    return fail(SESSNIC_ERR_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(SESSNIC_ERR_INTERNAL, e.what());
  }
}

void sessnic_detach(sessnic_attachment* attachment) { delete attachment; }

int sessnic_attachment_counters(const sessnic_attachment* attachment, sessnic_counters* out, size_t out_size) {
  last_error.clear();
  if (!attachment || !out) return fail(SESSNIC_ERR_ARGUMENT, "sessnic_attachment_counters: NULL argument");
  const auto c = attachment->attachment->counters();
  sessnic_counters full{};
  full.stores = c.stores;
  full.store_failed = c.store_failed;
  full.too_large = c.too_large;
  full.hits = c.hits;
  full.local_hits = c.local_hits;
  full.misses = c.misses;
  full.expired = c.expired;
  full.device_errors = c.device_errors;
  full.removes = c.removes;
  full.rejected = c.rejected_total();
  std::memcpy(out, &full, std::min(out_size, sizeof full));
  return SESSNIC_OK;
}

}  // extern "C"
