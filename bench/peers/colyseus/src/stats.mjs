// Latency histograms in tenths of a millisecond, so that the workers' figures
// merge exactly; the report in the shape of `python -m loadtest`'s.

const BUCKETS = 600_000; // up to 60 s

export class Histogram {
  constructor() {
    this.counts = new Uint32Array(BUCKETS + 1);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
  }

  add(ms) {
    const value = Math.max(0, ms);
    this.counts[Math.min(BUCKETS, Math.round(value * 10))]++;
    this.count++;
    this.sum += value;
    if (value > this.max) this.max = value;
  }

  /** A compact form to send between processes: [bucket, count] pairs. */
  toJSON() {
    const pairs = [];
    for (let i = 0; i <= BUCKETS; i++) if (this.counts[i]) pairs.push([i, this.counts[i]]);
    return { pairs, count: this.count, sum: this.sum, max: this.max };
  }

  absorb({ pairs, count, sum, max }) {
    for (const [bucket, n] of pairs) this.counts[bucket] += n;
    this.count += count;
    this.sum += sum;
    this.max = Math.max(this.max, max);
  }

  /** p50, p95, p99, max, mean and count, as loadtest/stats.py's percentiles(). */
  percentiles() {
    if (!this.count) return { p50: null, p95: null, p99: null, max: null, count: 0 };
    const at = (fraction) => {
      const rank = Math.max(1, Math.ceil(fraction * this.count));
      let seen = 0;
      for (let i = 0; i <= BUCKETS; i++) {
        seen += this.counts[i];
        if (seen >= rank) return round(i / 10);
      }
      return round(this.max);
    };
    return {
      p50: at(0.5),
      p95: at(0.95),
      p99: at(0.99),
      max: round(this.max),
      mean: round(this.sum / this.count),
      count: this.count,
    };
  }
}

export const round = (value, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

export const COUNTERS = [
  "connected", "peak_connected", "moves_sent", "moves_acked", "moves_rejected",
  "errors", "heard", "bytes_received",
];

export function emptyStats() {
  const stats = Object.fromEntries(COUNTERS.map((name) => [name, 0]));
  stats.ack = new Histogram();
  stats.neighbour = new Histogram();
  stats.error_samples = [];
  return stats;
}

export function error(stats, what) {
  stats.errors++;
  if (stats.error_samples.length < 20) stats.error_samples.push(what);
}
