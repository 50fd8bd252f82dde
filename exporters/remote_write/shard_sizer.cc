#include "exporters/remote_write/shard_sizer.h"

#include <algorithm>
#include <cmath>

namespace lookout::remote_write {
namespace {
constexpr double kEwmaWeight = 0.2;              // Prometheus's ewmaWeight
constexpr double kShardToleranceFraction = 0.3;  // Prometheus's shardToleranceFraction
constexpr double kBacklogCatchup = 0.05;         // of the pending samples, per second
constexpr double kMaxBehindToDownshard = 10.0;   // seconds
}  // namespace

ShardSizer::ShardSizer(int min_shards, int max_shards) : min_(min_shards), max_(max_shards) {}

void ShardSizer::Rate::Tick(double interval_s) {
  const uint64_t n = events_.exchange(0, std::memory_order_relaxed);
  const double instant = static_cast<double>(n) / interval_s;
  if (init_) {
    rate_ += kEwmaWeight * (instant - rate_);
  } else if (n > 0) {  // the first interval with events starts the average
    init_ = true;
    rate_ = instant;
  }
}

int ShardSizer::Update(int current, double behind_s, uint64_t pending_samples,
                       std::chrono::nanoseconds last_delivery_age,
                       std::chrono::nanoseconds stale_after, std::chrono::nanoseconds elapsed) {
  const double interval_s = std::max(std::chrono::duration<double>(elapsed).count(), 1e-3);
  in_.Tick(interval_s);
  out_.Tick(interval_s);
  dropped_.Tick(interval_s);
  out_ns_.Tick(interval_s);
  const double out_rate = out_.rate();
  if (out_rate <= 0) return current;
  const double in_rate = in_.rate();
  const double kept_ratio = out_rate / (dropped_.rate() + out_rate);
  const double send_s_rate = out_ns_.rate() / 1e9;
  const double pending = static_cast<double>(pending_samples) * kept_ratio;
  const double time_per_sample = send_s_rate / out_rate;
  desired_ = time_per_sample * (in_rate * kept_ratio + kBacklogCatchup * pending);

  const double wanted = std::ceil(desired_);
  const double lower = current * (1 - kShardToleranceFraction);
  const double upper = current * (1 + kShardToleranceFraction);
  if (lower <= wanted && wanted <= upper) return current;
  int shards = static_cast<int>(std::min(wanted, 1e6));
  if (shards < current && behind_s > kMaxBehindToDownshard) return current;
  shards = std::clamp(shards, min_, max_);
  // Prometheus's shouldReshard: not while sends are failing.
  if (shards != current && last_delivery_age > stale_after) return current;
  return shards;
}

}  // namespace lookout::remote_write
