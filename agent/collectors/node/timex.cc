// timex: the kernel clock discipline's state from adjtimex(2) (node_timex_*), converted as
// node_exporter 1.5 converts it.
#include "agent/collectors/node/timex.h"

#include <cerrno>
#include <cstring>

#include "agent/collectors/node/node_collectors.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

std::vector<MetricFamily> TimexFamilies(const struct timex& tx, int state) {
  constexpr double kMicro = 1e6;
  constexpr double kNano = 1e9;
  constexpr double kPpm16Frac = 1e6 * 65536.0;  // adjtimex(2) NOTES: ppm with 16-bit fraction
  constexpr int kTimeError = 5;                 // TIME_ERROR: not synchronised
  constexpr long kStaNano = 0x2000;             // STA_NANO: offsets in ns, else us
  const double divisor = (tx.status & kStaNano) != 0 ? kNano : kMicro;

  std::vector<MetricFamily> out;
  out.reserve(17);
  auto add = [&out](const char* name, const char* help, MetricType type, double v) {
    AddSample(AddFamily(out, name, help, type), v);
  };
  const auto g = MetricType::kGauge;
  const auto c = MetricType::kCounter;
  add("node_timex_sync_status", "Is clock synchronized to a reliable server (1 = yes, 0 = no).", g,
      state == kTimeError ? 0 : 1);
  add("node_timex_offset_seconds", "Time offset in between local system and reference clock.", g,
      static_cast<double>(tx.offset) / divisor);
  add("node_timex_frequency_adjustment_ratio", "Local clock frequency adjustment.", g,
      1 + static_cast<double>(tx.freq) / kPpm16Frac);
  add("node_timex_maxerror_seconds", "Maximum error in seconds.", g,
      static_cast<double>(tx.maxerror) / kMicro);
  add("node_timex_estimated_error_seconds", "Estimated error in seconds.", g,
      static_cast<double>(tx.esterror) / kMicro);
  add("node_timex_status", "Value of the status array bits.", g, static_cast<double>(tx.status));
  add("node_timex_loop_time_constant", "Phase-locked loop time constant.", g,
      static_cast<double>(tx.constant));
  add("node_timex_tick_seconds", "Seconds between clock ticks.", g,
      static_cast<double>(tx.tick) / kMicro);
  add("node_timex_pps_frequency_hertz", "Pulse per second frequency.", g,
      static_cast<double>(tx.ppsfreq) / kPpm16Frac);
  add("node_timex_pps_jitter_seconds", "Pulse per second jitter.", g,
      static_cast<double>(tx.jitter) / divisor);
  // Not converted: node_exporter exposes the raw shift (log2 of the interval in seconds).
  add("node_timex_pps_shift_seconds", "Pulse per second interval duration.", g,
      static_cast<double>(tx.shift));
  add("node_timex_pps_stability_hertz",
      "Pulse per second stability, average of recent frequency changes.", g,
      static_cast<double>(tx.stabil) / kPpm16Frac);
  add("node_timex_pps_jitter_total", "Pulse per second count of jitter limit exceeded events.", c,
      static_cast<double>(tx.jitcnt));
  add("node_timex_pps_calibration_total", "Pulse per second count of calibration intervals.", c,
      static_cast<double>(tx.calcnt));
  add("node_timex_pps_error_total", "Pulse per second count of calibration errors.", c,
      static_cast<double>(tx.errcnt));
  add("node_timex_pps_stability_exceeded_total",
      "Pulse per second count of stability limit exceeded events.", c,
      static_cast<double>(tx.stbcnt));
  add("node_timex_tai_offset_seconds", "International Atomic Time (TAI) offset.", g,
      static_cast<double>(tx.tai));
  return out;
}

namespace {

class TimexCollector final : public Collector {
 public:
  std::string_view Name() const override { return "timex"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    struct timex tx {};
    tx.modes = 0;  // read only: needs no privilege
    const int state = ::adjtimex(&tx);
    if (state < 0) {
      // EPERM (a seccomp profile denying the call) included: node_exporter reports no data and
      // success 0 there too.
      return MakeError("syscall", std::string("adjtimex: ") + std::strerror(errno));
    }
    for (auto& f : TimexFamilies(tx, state)) out.push_back(std::move(f));
    return Ok{};
  }
};

}  // namespace

std::unique_ptr<Collector> NewTimexCollector(const NodeOptions&) {
  return std::make_unique<TimexCollector>();
}

}  // namespace lookout
