// Register offsets and bits the ring driver uses, taken from the generated register map
// (driver/include/sessnic/sessnic_regs.h, spec/regs.rdl) so they are never re-typed.
#pragma once
#include <cstddef>
#include <cstdint>

#include "sessnic/sessnic_regs.h"

namespace sessnic::ring::reg {

inline constexpr uint32_t kId = offsetof(sessnic_regs_t, id);
inline constexpr uint32_t kVersion = offsetof(sessnic_regs_t, version);
inline constexpr uint32_t kCard = offsetof(sessnic_regs_t, card);
inline constexpr uint32_t kStatus = offsetof(sessnic_regs_t, status);
inline constexpr uint32_t kRingCtrl = offsetof(sessnic_regs_t, ring_ctrl);
inline constexpr uint32_t kRingStatus = offsetof(sessnic_regs_t, ring_status);
inline constexpr uint32_t kCmdRingBaseLo = offsetof(sessnic_regs_t, cmd_ring_base_lo);
inline constexpr uint32_t kCmdRingSizeLog2 = offsetof(sessnic_regs_t, cmd_ring_size_log2);
inline constexpr uint32_t kRspRingBaseLo = offsetof(sessnic_regs_t, rsp_ring_base_lo);
inline constexpr uint32_t kRspRingSizeLog2 = offsetof(sessnic_regs_t, rsp_ring_size_log2);
inline constexpr uint32_t kStatusBaseLo = offsetof(sessnic_regs_t, status_base_lo);
inline constexpr uint32_t kCmdDoorbell = offsetof(sessnic_regs_t, cmd_doorbell);
inline constexpr uint32_t kRspDoorbell = offsetof(sessnic_regs_t, rsp_doorbell);
inline constexpr uint32_t kCmdHead = offsetof(sessnic_regs_t, cmd_head);
inline constexpr uint32_t kRspTail = offsetof(sessnic_regs_t, rsp_tail);
inline constexpr uint32_t kBuildId = offsetof(sessnic_regs_t, build_id);
inline constexpr uint32_t kEpoch = offsetof(sessnic_regs_t, bp_epoch);  // the card's one epoch register
static_assert(offsetof(sessnic_regs_t, cmd_ring_base_hi) == kCmdRingBaseLo + 4);
static_assert(offsetof(sessnic_regs_t, rsp_ring_base_hi) == kRspRingBaseLo + 4);
static_assert(offsetof(sessnic_regs_t, status_base_hi) == kStatusBaseLo + 4);

inline constexpr uint32_t kIdMagic = SESSNIC_REGS__ID__MAGIC_reset;
inline constexpr uint32_t kRingCtrlEnable = SESSNIC_REGS__RING_CTRL__ENABLE_bm;
inline constexpr uint32_t kRingCtrlIrqEnable = SESSNIC_REGS__RING_CTRL__IRQ_ENABLE_bm;
inline constexpr uint32_t kRingCtrlReset = SESSNIC_REGS__RING_CTRL__RESET_bm;
inline constexpr uint32_t kRingStatusErrorMask = SESSNIC_REGS__RING_STATUS__ERROR_bm;
inline constexpr uint32_t kRingStatusIdle = SESSNIC_REGS__RING_STATUS__IDLE_bm;

}  // namespace sessnic::ring::reg
