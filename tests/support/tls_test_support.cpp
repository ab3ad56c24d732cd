// Real OpenSSL handshakes for tests: self-signed identity, contexts, in-memory
// handshakes over a BIO pair.
#include "tls_test_support.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace sessnic::testtls {
namespace {

uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Every server-side SSL call of handshake() runs through here: its thread CPU time is
// added to server_cpu_ns, and it is one function that `valgrind --tool=callgrind
// --toggle-collect='*on_server_side*'` can count instructions in (bench_resume
// --instructions), the client's work excluded. Not inlined so the symbol exists.
template <typename Call>
[[gnu::noinline]] auto on_server_side(HandshakeResult& r, Call&& call) {
  const uint64_t t0 = thread_cpu_ns();
  auto result = call();
  r.server_cpu_ns += thread_cpu_ns() - t0;
  ++r.server_calls;
  return result;
}

[[noreturn]] void die(const std::string& what) { throw std::runtime_error(what + ": " + drain_openssl_errors()); }

void add_ext(X509* cert, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  if (ext == nullptr || X509_add_ext(cert, ext, -1) != 1) die("X509 extension");
  X509_EXTENSION_free(ext);
}

struct OwnedIdentity {
  X509Ptr cert;
  EvpPkeyPtr key;
  Identity view{};
};

OwnedIdentity make_identity() {
  OwnedIdentity id;
  id.key.reset(EVP_RSA_gen(2048));
  if (!id.key) die("RSA-2048 key generation");
  id.cert.reset(X509_new());
  X509* c = id.cert.get();
  if (c == nullptr || X509_set_version(c, 2) != 1) die("X509_new");
  ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
  X509_gmtime_adj(X509_getm_notBefore(c), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c), 7L * 24 * 3600);
  X509_set_pubkey(c, id.key.get());
  X509_NAME* name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("sessnic-test"), -1, -1,
                             0);
  X509_set_issuer_name(c, name);
  add_ext(c, NID_basic_constraints, "critical,CA:TRUE");
  add_ext(c, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  if (X509_sign(c, id.key.get(), EVP_sha256()) == 0) die("X509_sign");
  id.view = {id.cert.get(), id.key.get()};
  return id;
}

void trust_identity(SSL_CTX* ctx) {
  if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), identity().cert) != 1) die("X509_STORE_add_cert");
}

void use_identity(SSL_CTX* ctx) {
  if (SSL_CTX_use_certificate(ctx, identity().cert) != 1 || SSL_CTX_use_PrivateKey(ctx, identity().key) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1)
    die("loading the test identity");
}

SslCtxPtr new_ctx(const SSL_METHOD* method, int max_version) {
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) die("SSL_CTX_new");
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx.get(), max_version) != 1)
    die("protocol versions");
  return ctx;
}

// An SSL call is still in progress (not failed) when it wants more I/O.
bool pending(SSL* ssl, int rc) {
  const int e = SSL_get_error(ssl, rc);
  return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

}  // namespace

std::string drain_openssl_errors() {
  std::string out;
  char buf[256];
  while (unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no OpenSSL error" : out;
}

const Identity& identity() {
  static const OwnedIdentity id = make_identity();
  return id.view;
}

SslCtxPtr make_server_ctx(int max_version, bool require_client_cert) {
  SslCtxPtr ctx = new_ctx(TLS_server_method(), max_version);
  use_identity(ctx.get());
  // A session-id context is required whenever client certificates are verified; sessnic
  // attach() replaces it with its deterministic one.
  static const unsigned char kSidCtx[] = "sessnic-test";
  SSL_CTX_set_session_id_context(ctx.get(), kSidCtx, sizeof kSidCtx - 1);
  if (require_client_cert) {
    trust_identity(ctx.get());
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

SslCtxPtr make_client_ctx(int max_version, bool with_client_cert) {
  SslCtxPtr ctx = new_ctx(TLS_client_method(), max_version);
  trust_identity(ctx.get());
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (with_client_cert) use_identity(ctx.get());
  return ctx;
}

HandshakeResult handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx, SSL_SESSION* resume) {
  HandshakeResult r;
  SslPtr s(on_server_side(r, [&] { return SSL_new(server_ctx); }));
  SslPtr c(SSL_new(client_ctx));
  BIO* cbio = nullptr;
  BIO* sbio = nullptr;
  if (!c || !s || BIO_new_bio_pair(&cbio, 0, &sbio, 0) != 1) {
    r.error = "setup: " + drain_openssl_errors();
    return r;
  }
  SSL_set_bio(c.get(), cbio, cbio);
  SSL_set_bio(s.get(), sbio, sbio);
  SSL_set_connect_state(c.get());
  SSL_set_accept_state(s.get());
  SSL_set_tlsext_host_name(c.get(), "localhost");
  if (resume != nullptr && SSL_set_session(c.get(), resume) != 1) {
    r.error = "SSL_set_session: " + drain_openssl_errors();
    return r;
  }

  bool c_done = false, s_done = false;
  for (int round = 0; round < 32 && !(c_done && s_done); ++round) {
    if (!c_done) {
      const int rc = SSL_do_handshake(c.get());
      if (rc == 1) c_done = true;
      else if (!pending(c.get(), rc)) {
        r.error = "client handshake: " + drain_openssl_errors();
        break;
      }
    }
    if (!s_done) {
      const int rc = on_server_side(r, [&] { return SSL_do_handshake(s.get()); });
      if (rc == 1) s_done = true;
      else if (!pending(s.get(), rc)) {
        r.error = "server handshake: " + drain_openssl_errors();
        break;
      }
    }
  }
  if (c_done && s_done) {
    r.ok = true;
    r.version = SSL_version(s.get());
    r.reused_client = SSL_session_reused(c.get()) == 1;
    r.reused_server = SSL_session_reused(s.get()) == 1;
    // TLS 1.3 tickets arrive after the handshake: a read processes them.
    unsigned char byte;
    const int rc = SSL_read(c.get(), &byte, 1);
    if (rc > 0 || !pending(c.get(), rc)) {
      r.ok = false;
      r.error = "client read after handshake: " + drain_openssl_errors();
    }
    r.client_session.reset(SSL_get1_session(c.get()));
    // Clean close on both sides: OpenSSL drops the session of an unclean close.
    SSL_shutdown(c.get());
    on_server_side(r, [&] { return SSL_shutdown(s.get()); });
  } else if (r.error.empty()) {
    r.error = "handshake did not finish";
  }
  c.reset();
  on_server_side(r, [&] {
    s.reset();
    return 0;
  });
  ERR_clear_error();
  return r;
}

PemFiles write_pem_files(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  PemFiles files{dir / "cert.pem", dir / "key.pem"};
  auto write = [](const std::filesystem::path& p, auto&& writer) {
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), p.string());
    FILE* f = ::fdopen(fd, "w");
    if (f == nullptr) {
      ::close(fd);
      throw std::system_error(errno, std::generic_category(), p.string());
    }
    const bool ok = writer(f);
    if (std::fclose(f) != 0 || !ok) die("writing " + p.string());
  };
  write(files.cert, [](FILE* f) { return PEM_write_X509(f, identity().cert) == 1; });
  write(files.key, [](FILE* f) {
    return PEM_write_PrivateKey(f, identity().key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  });
  return files;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/sessnic-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace sessnic::testtls
