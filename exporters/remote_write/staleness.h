#pragma once
// StalenessTracker: stale markers for series that leave /metrics between two collections.
//
// Prometheus appends a stale marker (a NaN with the bit pattern 0x7ff0000000000002,
// value.StaleNaN) for every series a scrape no longer returns, so its receivers end the series
// there instead of showing its last value for the 5 m lookback; remote write carries the marker
// like any sample. lookout does the same per endpoint, on the series it sends (after
// write_relabel_configs): a series the previous collection sent and this one has not gets a
// marker 1 ms after the last sample it was sent with. Not at this collection's time, as a
// first guess would have it: a scraped sample keeps its scrape's start, so a scrape that began
// before this collection and ended after it would bring the series back with an older
// timestamp than the marker, and the receiver would refuse that request as out of order. The
// series' next sample comes from a later scrape or collection, so it is always newer than the
// marker. A restart forgets the previous collection, as Prometheus's does.
//
// Not as Prometheus: a series with the application's own timestamp is marked too (Prometheus
// leaves those alone); one that leaves and comes back with a timestamp at or before its last
// one is then refused by the receiver.
//
// Memory: each series' labels once, as text in an arena, and a 24-byte index row, for this
// collection and the previous one: about twice the label text.
//
// Thread-safety: one thread (the writer's collector).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "exporters/remote_write/write_request.h"

namespace lookout::remote_write {

// Prometheus's value.StaleNaN.
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ull;
bool IsStaleMarker(double v);

class StalenessTracker {
 public:
  // One collection: Begin, See each series sent, Finish. Finish sets `scratch` to each series the
  // previous collection saw and this one has not, with a stale marker 1 ms after its last
  // timestamp, and hands it to `fn`.
  void Begin();
  void See(const WriteSeries& w);
  void Finish(WriteSeries& scratch, const std::function<void(const WriteSeries&)>& fn);
  size_t bytes() const {
    return arena_.capacity() + next_arena_.capacity() +
           (index_.capacity() + next_index_.capacity()) * sizeof(Row);
  }

 private:
  struct Row {
    uint64_t hash;
    int64_t timestamp_ms;  // the sample it was last sent with
    uint32_t offset;       // in the arena: name \0 value \0 ... per label
    uint32_t size;
  };
  // The previous collection's series (index sorted by hash), and this one's being seen; swapped
  // at Finish, so both keep their capacity.
  std::string arena_, next_arena_;
  std::vector<Row> index_, next_index_;
  bool overflow_ = false;  // this collection's label text passed 4 GiB: not tracked
};

}  // namespace lookout::remote_write
