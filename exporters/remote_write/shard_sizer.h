#pragma once
// ShardSizer: how many requests an endpoint sends at once, sized to throughput as Prometheus's
// remote write sizes its shards (storage/remote/queue_manager.go, calculateDesiredShards and
// shouldReshard, 2.42).
//
// Every 10 s (Prometheus's shardUpdateDuration) the rates of samples in
// (queued by collections), out (delivered), dropped (refused for good) and of the shard time spent
// sending (ShardTime) are folded into exponentially weighted moving averages (weight 0.2,
// Prometheus's ewmaWeight), then
//   time_per_sample = send_seconds_rate / out_rate
//   pending         = samples queued * kept_ratio,     kept_ratio = out / (out + dropped)
//   desired         = time_per_sample * (in_rate * kept_ratio + 0.05 * pending)
// rounded up. Prometheus estimates `pending` as (newest collected - newest sent timestamp, in
// seconds) * in_rate * kept_ratio, not knowing its queues' length; the queue here counts its
// samples exactly, and the estimate falls short once lanes are sent in parallel (the newest
// sent sample is of the lane that went last, not of the one furthest behind). The shard count
// changes only when `desired` leaves +-30% of it, never down while more than 10 s behind, never
// while sends fail (no delivery within the last `stale_after`), and stays within [min_shards,
// max_shards].
//
// Thread-safety: Samples* and ShardTime from any thread; Update from one thread.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace lookout::remote_write {

class ShardSizer {
 public:
  static constexpr std::chrono::seconds kUpdateInterval{10};

  ShardSizer(int min_shards, int max_shards);

  void SamplesIn(uint64_t n) { in_.Add(n); }
  void SamplesOut(uint64_t n) { out_.Add(n); }  // a request delivered
  // Shard time spent sending (Prometheus's dataOutDuration, retries included). The sender
  // adds one batch's wall time, from taking it off the queue to acknowledging it, times the
  // shards that took part: a shard done early waits for the batch's end before it takes more,
  // and that wait costs throughput as sending does.
  void ShardTime(std::chrono::nanoseconds t) { out_ns_.Add(static_cast<uint64_t>(t.count())); }
  void SamplesDropped(uint64_t n) { dropped_.Add(n); }

  // One update, every kUpdateInterval: the shard count to run from now on. `behind_s`: newest
  // collected minus newest delivered sample timestamp, in seconds (no downshard past 10 s);
  // `pending_samples`: the samples queued, those being sent included; `last_delivery_age`: time
  // since the last delivered request; `stale_after`: older than that, sends are failing and the
  // count is kept.
  // `elapsed`: since the previous update (kUpdateInterval when on time; a sender busy with one
  // long batch updates late, and the rates are over the time that really passed).
  int Update(int current, double behind_s, uint64_t pending_samples,
             std::chrono::nanoseconds last_delivery_age, std::chrono::nanoseconds stale_after,
             std::chrono::nanoseconds elapsed = kUpdateInterval);
  double desired() const { return desired_; }  // the last unrounded estimate (a gauge)

 private:
  // Prometheus's ewmaRate: events counted between ticks, a rate per second smoothed on each.
  class Rate {
   public:
    void Add(uint64_t n) { events_.fetch_add(n, std::memory_order_relaxed); }
    void Tick(double interval_s);
    double rate() const { return rate_; }

   private:
    std::atomic<uint64_t> events_{0};
    double rate_ = 0;
    bool init_ = false;
  };
  const int min_, max_;
  Rate in_, out_, dropped_, out_ns_;
  double desired_ = 0;
};

}  // namespace lookout::remote_write
