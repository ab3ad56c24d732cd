// libFuzzer target for the dispatcher's ClientHello parser. Besides "no crash, no
// sanitizer report" it checks two properties on every input: feeding the same bytes in
// two segments gives the same answer as feeding them at once, and a parsed hello is
// internally consistent (bounded sizes).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "client_hello.hpp"

using namespace sessnic::dispatch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  HelloAssembler whole(32 * 1024);
  auto st = whole.feed(in);

  HelloAssembler split(32 * 1024);
  size_t cut = size ? data[0] % (size + 1) : 0;
  auto st2 = split.feed(in.first(cut));
  if (st2 == HelloAssembler::State::need_more) st2 = split.feed(in.subspan(cut));
  if (st != st2 || whole.error() != split.error()) std::abort();

  if (st == HelloAssembler::State::done) {
    const ClientHello& h = whole.hello();
    if (h.session_id.size() > 32 || h.sni.size() > 255) std::abort();
    if (auto id = h.resumption_id(); id && (id->empty() || id->size() > 32)) std::abort();
  }
  // The body parser directly, too (no record layer in front).
  (void)parse_client_hello_body(in);
  return 0;
}
