// uname: node_uname_info from uname(2), as node_exporter does (the host's identity when the
// agent runs in the host's UTS namespace, which hostNetwork pods do).
#include <sys/utsname.h>

#include "agent/collectors/node/node_collectors.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {
namespace {

class UnameCollector final : public Collector {
 public:
  std::string_view Name() const override { return "uname"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    struct utsname u {};
    if (::uname(&u) != 0) return MakeError("syscall", "uname failed");
    AddSample(AddFamily(out, "node_uname_info",
                        "Labeled system information as provided by the uname system call.",
                        MetricType::kGauge),
              1,
              {{"domainname", u.domainname},
               {"machine", u.machine},
               {"nodename", u.nodename},
               {"release", u.release},
               {"sysname", u.sysname},
               {"version", u.version}});
    return Ok{};
  }
};

}  // namespace

std::unique_ptr<Collector> NewUnameCollector(const NodeOptions&) {
  return std::make_unique<UnameCollector>();
}

}  // namespace lookout
