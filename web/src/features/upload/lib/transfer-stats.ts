// Upload progress figures: percentage, speed over a sliding window, and time
// left. Pure: times are passed in, so tests need no clock.

export interface Sample {
  /** milliseconds */
  t: number;
  /** bytes sent so far */
  loaded: number;
}

export const SPEED_WINDOW_MS = 3000;
const MB = 1024 * 1024;

/** Whole percent sent, 0–100 (never 100 before everything is sent). */
export function percentOf(loaded: number, total: number): number {
  if (!(total > 0) || loaded <= 0) return 0;
  if (loaded >= total) return 100;
  return Math.min(99, Math.floor((loaded / total) * 100));
}

/** Bytes per second over the samples of the last `windowMs`; null until measurable. */
export function speedOf(samples: readonly Sample[], windowMs = SPEED_WINDOW_MS): number | null {
  if (samples.length < 2) return null;
  const last = samples[samples.length - 1];
  let first = samples[0];
  for (const s of samples) {
    if (last.t - s.t <= windowMs) {
      first = s;
      break;
    }
  }
  if (first === last) first = samples[samples.length - 2];
  const dt = (last.t - first.t) / 1000;
  if (dt <= 0) return null;
  return Math.max(0, (last.loaded - first.loaded) / dt);
}

/** Seconds until done at the given speed; null when the speed is unknown or zero. */
export function secondsLeft(loaded: number, total: number, bytesPerSecond: number | null): number | null {
  if (loaded >= total) return 0;
  if (!bytesPerSecond || bytesPerSecond <= 0) return null;
  return (total - loaded) / bytesPerSecond;
}

export function formatSpeed(bytesPerSecond: number | null): string {
  if (bytesPerSecond === null) return '– MB/s';
  const mbps = bytesPerSecond / MB;
  return `${mbps >= 10 ? mbps.toFixed(0) : mbps.toFixed(1)} MB/s`;
}

export function formatTimeLeft(seconds: number | null): string {
  if (seconds === null) return 'estimating time left';
  if (seconds < 1) return 'almost done';
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s left`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s left`;
  return `${Math.floor(m / 60)} h ${m % 60} min left`;
}

/** Keeps the recent samples of one transfer and answers its figures. */
export class TransferMeter {
  private samples: Sample[] = [];

  constructor(private readonly windowMs = SPEED_WINDOW_MS) {}

  add(t: number, loaded: number): void {
    this.samples.push({ t, loaded });
    // Keep one sample older than the window so the window is always spanned.
    const cutoff = t - this.windowMs;
    while (this.samples.length > 2 && this.samples[1].t < cutoff) this.samples.shift();
  }

  figures(total: number) {
    const last = this.samples[this.samples.length - 1];
    const loaded = last?.loaded ?? 0;
    const bytesPerSecond = speedOf(this.samples, this.windowMs);
    return {
      loaded,
      total,
      percent: percentOf(loaded, total),
      bytesPerSecond,
      secondsLeft: secondsLeft(loaded, total, bytesPerSecond),
    };
  }
}
