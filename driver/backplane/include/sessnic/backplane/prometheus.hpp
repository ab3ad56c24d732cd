// A backplane node's counters in the Prometheus text exposition format (version 0.0.4),
// for a process's /metrics endpoint:
//
//   std::string body = sessnic::backplane::prometheus_text(node.stats());
//
// Every name starts with `sessnic_backplane_`; counters end in `_total`; frame types and
// drop reasons are labels. docs/backplane.md lists each metric.
#pragma once
#include <string>

#include "sessnic/backplane/node.hpp"

namespace sessnic::backplane {

std::string prometheus_text(const NodeStats& stats);

}  // namespace sessnic::backplane
