// Writes a minimal but well-formed xclbin (axlf: header, IP_LAYOUT, MEM_TOPOLOGY,
// CONNECTIVITY) naming one user-managed kernel IP, so XRT's noop emulation can load it
// and the xrt device's checks (kernel name, bank) run on XRT's own parser. No bitstream:
// noop mode needs none, and a real card rejects it.
#pragma once
#include <xrt/xclbin.h>

#include <cstdint>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

namespace sessnic::test {

inline void write_tiny_xclbin(const std::string& path, const std::string& ip_name, uint8_t uuid_seed = 1) {
  std::vector<char> ipl(sizeof(ip_layout), 0);
  auto* ip = reinterpret_cast<ip_layout*>(ipl.data());
  ip->m_count = 1;
  ip->m_ip_data[0].m_type = IP_KERNEL;
  ip->m_ip_data[0].properties = AP_CTRL_NONE << IP_CONTROL_SHIFT;  // user-managed: reached by xrt::ip
  ip->m_ip_data[0].m_base_address = 0x1800000;
  std::strncpy(reinterpret_cast<char*>(ip->m_ip_data[0].m_name), ip_name.c_str(), sizeof ip->m_ip_data[0].m_name - 1);

  std::vector<char> mt(sizeof(mem_topology), 0);
  auto* m = reinterpret_cast<mem_topology*>(mt.data());
  m->m_count = 1;
  m->m_mem_data[0].m_type = MEM_DDR4;
  m->m_mem_data[0].m_used = 1;
  m->m_mem_data[0].m_size = 0x100000;  // KiB
  m->m_mem_data[0].m_base_address = 0x4000000000;
  std::strcpy(reinterpret_cast<char*>(m->m_mem_data[0].m_tag), "bank0");

  std::vector<char> cn(sizeof(connectivity), 0);
  auto* c = reinterpret_cast<connectivity*>(cn.data());
  c->m_count = 1;
  c->m_connection[0] = {0, 0, 0};  // kernel arg 0 (m_axi) -> bank0

  const std::vector<char>* sections[] = {&ipl, &mt, &cn};
  const uint32_t kinds[] = {IP_LAYOUT, MEM_TOPOLOGY, CONNECTIVITY};
  const std::size_t n = 3;
  const std::size_t header = sizeof(axlf) + (n - 1) * sizeof(axlf_section_header);
  std::size_t total = header;
  for (const auto* s : sections) total += (s->size() + 7) & ~std::size_t{7};
  std::vector<char> buf(total, 0);
  auto* a = reinterpret_cast<axlf*>(buf.data());
  std::memcpy(a->m_magic, "xclbin2", 8);
  a->m_signature_length = -1;
  std::memset(a->reserved, 0xFF, sizeof a->reserved);
  a->m_header.m_length = total;
  a->m_header.m_timeStamp = static_cast<uint64_t>(std::time(nullptr));
  a->m_header.m_versionMajor = 2;
  a->m_header.m_versionMinor = 13;
  a->m_header.m_mode = XCLBIN_FLAT;
  std::strcpy(reinterpret_cast<char*>(a->m_header.m_platformVBNV), "xilinx_u250_gen3x16_xdma_4_1_202210_1");
  for (int i = 0; i < 16; ++i) a->m_header.uuid[i] = static_cast<unsigned char>(uuid_seed + i);
  a->m_header.m_numSections = n;
  std::size_t off = header;
  for (std::size_t i = 0; i < n; ++i) {
    axlf_section_header& h = a->m_sections[i];
    h.m_sectionKind = kinds[i];
    std::snprintf(h.m_sectionName, sizeof h.m_sectionName, "sec%zu", i);
    h.m_sectionOffset = off;
    h.m_sectionSize = sections[i]->size();
    std::memcpy(buf.data() + off, sections[i]->data(), sections[i]->size());
    off += (sections[i]->size() + 7) & ~std::size_t{7};
  }
  std::ofstream(path, std::ios::binary).write(buf.data(), static_cast<std::streamsize>(buf.size()));
}

}  // namespace sessnic::test
