// The built-in gateway (models/gateway/src/lib.rs), in JavaScript.
//
// Handles each reading `processing_delay_us` after it arrives (default 100
// µs), aggregates each `window_s` window (default 5 s; count, mean, min, max)
// and forwards the aggregate to `destination`. With `alert_threshold`, a
// reading above it is forwarded at once as an alert. With `subscribe`, it
// subscribes to that topic at the broker. A window is emitted even when
// empty (count 0). Traces equal the Rust gateway's byte for byte: keep the
// float operations (order, min/max, rounding) exactly as in the Rust source.

import { ConfigError, ConfigReader, PUBLISH, decode, encode, formatF64, metric, outgoing } from "./xedgesim_model.js";

const KEYS = ["window_s", "processing_delay_us", "destination", "alert_threshold", "subscribe"];

// Rust's f64::min / f64::max: a NaN operand is ignored (Math.min would return NaN).
const f64Min = (a, b) => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : a <= b ? a : b);
const f64Max = (a, b) => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : a >= b ? a : b);

// Rust's `x.round() as u64` for x > 0: half away from zero (Math.round is
// half up, the same for positives); saturating is moot below 2^53.
const roundToU64 = (x) => (Number.isNaN(x) || x <= 0 ? 0 : Math.round(x));

function newWindow() {
  // newestTUs: sample time of the newest reading in the window.
  return { count: 0, sum: 0, min: 0, max: 0, newestTUs: 0 };
}

export class Gateway {
  constructor(_id, config) {
    const c = new ConfigReader(config, KEYS);
    const windowS = c.f64("window_s", 5.0);
    if (!(Number.isFinite(windowS) && windowS > 0)) {
      throw new ConfigError(`config key 'window_s' must be > 0; found ${formatF64(windowS)}`);
    }
    this.windowUs = Math.max(roundToU64(windowS * 1e6), 1);
    this.processingDelayUs = c.u64("processing_delay_us", 100);
    this.destination = c.text("destination");
    this.alertThreshold = c.optionalF64("alert_threshold");
    this.subscribe = c.text("subscribe");
    this.pending = []; // [dueUs, message], in arrival order; consumed from pendingHead
    this.pendingHead = 0;
    this.window = newWindow();
    this.windowEndUs = this.windowUs;
    this.readingsReceived = 0;
    this.readingsProcessed = 0;
    this.malformed = 0;
    this.windowsClosed = 0;
    this.aggregatesSent = 0;
    this.alertsSent = 0;
    // Windows (and the subscription) start at its first step: t = 0, or its
    // restart time after a scripted crash, as the Rust gateway's.
    this.started = false;
  }

  pendingLen() {
    return this.pending.length - this.pendingHead;
  }

  step(nowUs, inbox) {
    const out = [];
    if (!this.started) {
      this.started = true;
      this.windowEndUs = nowUs + this.windowUs;
      if (this.subscribe !== undefined) {
        out.push(outgoing(PUBLISH, "$subscribe", this.subscribe));
        this.subscribe = undefined;
      }
    }
    for (const m of inbox) {
      this.readingsReceived++;
      this.pending.push([nowUs + this.processingDelayUs, m]);
    }
    for (;;) {
      // Process readings due before the window closes, then close it, in time order.
      const due = this.pendingLen() > 0 ? this.pending[this.pendingHead][0] : undefined;
      if (due !== undefined && due <= nowUs && due < this.windowEndUs) {
        const m = this.pending[this.pendingHead++][1];
        this.process(m, out);
      } else if (this.windowEndUs <= nowUs) {
        this.closeWindow(out);
      } else break;
    }
    // A queue without O(n) shifts: compact once the consumed head is large.
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.pendingHead);
      this.pendingHead = 0;
    }
    const wakeAtUs = this.pendingLen() > 0 ? Math.min(this.pending[this.pendingHead][0], this.windowEndUs) : this.windowEndUs;
    return { outbox: out, wakeAtUs };
  }

  finish() {
    return [
      metric("readings_received", this.readingsReceived),
      metric("readings_processed", this.readingsProcessed),
      metric("readings_malformed", this.malformed),
      metric("readings_pending", this.pendingLen()),
      metric("windows_closed", this.windowsClosed),
      metric("aggregates_sent", this.aggregatesSent),
      metric("alerts_sent", this.alertsSent),
    ];
  }

  process(m, out) {
    let p;
    try {
      p = decode(m.payload);
    } catch {
      p = undefined;
    }
    const value = p && p.number("temperature");
    if (value === undefined) {
      this.malformed++;
      return;
    }
    const tUs = p.number("t_us") ?? 0;
    this.readingsProcessed++;
    const w = this.window;
    if (w.count === 0) {
      w.min = value;
      w.max = value;
    } else {
      w.min = f64Min(w.min, value);
      w.max = f64Max(w.max, value);
    }
    w.count++;
    w.sum += value;
    w.newestTUs = f64Max(w.newestTUs, tUs);
    const limit = this.alertThreshold;
    if (limit !== undefined && this.destination !== undefined && value > limit) {
      this.alertsSent++;
      out.push(outgoing(this.destination, "alert", encode([
        ["source", m.source],
        ["temperature", value],
        ["threshold", limit],
        ["t_us", tUs],
      ])));
    }
  }

  closeWindow(out) {
    const w = this.window;
    this.window = newWindow();
    const start = this.windowEndUs - this.windowUs;
    this.windowsClosed++;
    if (this.destination !== undefined) {
      this.aggregatesSent++;
      const [mean, min, max] = w.count === 0 ? [NaN, NaN, NaN] : [w.sum / w.count, w.min, w.max];
      out.push(outgoing(this.destination, "aggregate", encode([
        ["window_start_us", start],
        ["window_end_us", this.windowEndUs],
        ["count", w.count],
        ["mean", mean],
        ["min", min],
        ["max", max],
        ["t_us", w.newestTUs],
      ])));
    }
    this.windowEndUs += this.windowUs;
  }
}
