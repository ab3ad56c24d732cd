// An in-process sessnic-server for tests: HttpsServer on a model card (small table) with
// a real key file, the test identity as default certificate, and a content directory
// holding index.html and a.txt ("alpha"). Clients talk to it over loopback TCP.
#pragma once
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>

#include "https_server.hpp"
#include "sessnic/key_file.hpp"
#include "sessnic/open_device.hpp"
#include "tls_test_support.hpp"

namespace sessnic::servertest {

class ServerFixture {
 public:
  ServerFixture() {
    auto pem = testtls::write_pem_files(dir_.path() / "pki");
    generate_key_file(dir_.path() / "cluster.key", 1);
    sealer_ = std::make_unique<Sealer>(load_key_file(dir_.path() / "cluster.key"));
    DeviceConfig dc;
    dc.card_id = 1;
    dc.geometry = TableGeometry::small;
    device_ = open_device(dc);
    content_ = dir_.path() / "content";
    std::filesystem::create_directories(content_);
    std::ofstream(content_ / "index.html") << "<h1>index</h1>\n";
    std::ofstream(content_ / "a.txt") << "alpha";
    std::ofstream(dir_.path() / "secret") << "outside the content directory";
    options.name = "test";
    options.content = content_;
    options.tls.cert = pem.cert;
    options.tls.key = pem.key;
    options.tls.session_context = "server-test";
    options.threads = 2;
  }

  std::unique_ptr<server::HttpsServer> start() {
    auto s = std::make_unique<server::HttpsServer>(options, *device_, *sealer_);
    s->start();
    return s;
  }

  const std::filesystem::path& dir() const { return dir_.path(); }
  const std::filesystem::path& content() const { return content_; }
  Device& device() { return *device_; }
  const Sealer& sealer() const { return *sealer_; }

  server::ServerOptions options;

 private:
  testtls::TempDir dir_;
  std::filesystem::path content_;
  std::unique_ptr<Sealer> sealer_;
  std::unique_ptr<Device> device_;
};

}  // namespace sessnic::servertest
