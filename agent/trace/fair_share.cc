#include "agent/trace/fair_share.h"

#include <algorithm>
#include <new>

namespace lookout::trace {

FairShare::FairShare(FairShareOptions options, SelfMetrics& registry)
    : options_(options),
      refused_(registry.AddCounter(
          ::prometheus::BuildCounter()
              .Name("lookout_trace_spans_refused_by_source_total")
              .Help("Spans refused because their sender held more than its fair share of a "
                    "nearly full span queue, by sender address (at most "
                    "traces.queue.max_source_labels, then \"other\")."),
          {"source"})) {}

void FairShare::Trim(uint64_t queue_records) {
  // The queue holds its newest queue_records records: older pushes were exported.
  while (!pushes_.empty() && records_ > queue_records) {
    Pushes& oldest = pushes_.front();
    const uint64_t gone = std::min(oldest.records, records_ - queue_records);
    // Within one entry, the bytes per record are taken as equal.
    const uint64_t bytes =
        gone == oldest.records ? oldest.bytes : oldest.bytes / oldest.records * gone;
    records_ -= gone;
    total_ -= bytes;
    oldest.records -= gone;
    oldest.bytes -= bytes;
    if (auto it = held_.find(oldest.source); it != held_.end()) {
      it->second -= std::min(it->second, bytes);
      if (it->second == 0) held_.erase(it);
    }
    if (oldest.records == 0) pushes_.pop_front();
  }
}

bool FairShare::Admit(std::string_view source, uint64_t bytes, uint64_t spans,
                      const SpanQueueStats& queue) {
  std::lock_guard lock(mu_);
  Trim(queue.records);
  if (options_.threshold >= 1.0 || queue.capacity_bytes == 0) return true;
  const double fill =
      static_cast<double>(queue.bytes + bytes) / static_cast<double>(queue.capacity_bytes);
  if (fill < options_.threshold) return true;
  const auto it = held_.find(source);
  const uint64_t mine = it == held_.end() ? 0 : it->second;
  if (mine == 0) return true;
  const size_t holders = held_.size();  // S included: it holds something
  if (static_cast<double>(mine) < static_cast<double>(total_) / static_cast<double>(holders)) {
    return true;
  }
  std::string label(source);
  if (!labelled_.contains(label)) {
    if (labelled_.size() < options_.max_source_labels) {
      labelled_.emplace(label, true);
    } else {
      label = "other";
    }
  }
  refused_.WithLabels({label}).Increment(static_cast<double>(spans));
  return false;
}

void FairShare::Pushed(std::string_view source, uint64_t bytes) noexcept {
  std::lock_guard lock(mu_);
  try {
    if (pushes_.empty() || pushes_.back().source != source) {
      pushes_.push_back({std::string(source), 0, 0});
    }
    auto it = held_.find(source);
    if (it == held_.end()) it = held_.emplace(std::string(source), 0).first;
    pushes_.back().bytes += bytes;
    pushes_.back().records += 1;
    total_ += bytes;
    records_ += 1;
    it->second += bytes;
  } catch (const std::bad_alloc&) {
    // Not attributed: the next Trim sees one record more in the queue than here, harmlessly.
  }
}

uint64_t FairShare::held(std::string_view source) const {
  std::lock_guard lock(mu_);
  const auto it = held_.find(source);
  return it == held_.end() ? 0 : it->second;
}

}  // namespace lookout::trace
