import { describe, expect, it } from 'vitest';
import { formatSpeed, formatTimeLeft, percentOf, secondsLeft, speedOf, TransferMeter } from './transfer-stats';

const MB = 1024 * 1024;

describe('percentOf', () => {
  it('floors to whole percent', () => {
    expect(percentOf(0, 1000)).toBe(0);
    expect(percentOf(1, 1000)).toBe(0);
    expect(percentOf(499, 1000)).toBe(49);
    expect(percentOf(500, 1000)).toBe(50);
  });
  it('says 100 only when everything is sent', () => {
    expect(percentOf(999, 1000)).toBe(99);
    expect(percentOf(9_999_999, 10_000_000)).toBe(99);
    expect(percentOf(1000, 1000)).toBe(100);
    expect(percentOf(1200, 1000)).toBe(100);
  });
  it('is 0 for an unknown total', () => {
    expect(percentOf(10, 0)).toBe(0);
    expect(percentOf(10, NaN)).toBe(0);
  });
});

describe('speedOf', () => {
  it('needs two samples', () => {
    expect(speedOf([])).toBeNull();
    expect(speedOf([{ t: 0, loaded: 0 }])).toBeNull();
  });
  it('is bytes over seconds', () => {
    expect(speedOf([{ t: 0, loaded: 0 }, { t: 2000, loaded: 4 * MB }])).toBe(2 * MB);
  });
  it('only looks at the recent window', () => {
    const samples = [
      { t: 0, loaded: 0 },
      { t: 1000, loaded: 10 * MB }, // a fast start…
      { t: 5000, loaded: 11 * MB },
      { t: 7000, loaded: 13 * MB }, // …then 1 MB/s
    ];
    expect(speedOf(samples, 3000)).toBe(1 * MB);
  });
  it('falls back to the last two samples when they are far apart', () => {
    expect(speedOf([{ t: 0, loaded: 0 }, { t: 10_000, loaded: 5 * MB }], 3000)).toBe(0.5 * MB);
  });
  it('is null when no time passed', () => {
    expect(speedOf([{ t: 5, loaded: 0 }, { t: 5, loaded: 100 }])).toBeNull();
  });
});

describe('secondsLeft', () => {
  it('is the remaining bytes at the current speed', () => {
    expect(secondsLeft(2 * MB, 10 * MB, 2 * MB)).toBe(4);
  });
  it('is 0 when done and null when the speed is unknown', () => {
    expect(secondsLeft(10, 10, null)).toBe(0);
    expect(secondsLeft(1, 10, null)).toBeNull();
    expect(secondsLeft(1, 10, 0)).toBeNull();
  });
});

describe('formatting', () => {
  it('shows MB/s', () => {
    expect(formatSpeed(null)).toBe('– MB/s');
    expect(formatSpeed(1.5 * MB)).toBe('1.5 MB/s');
    expect(formatSpeed(0.25 * MB)).toBe('0.3 MB/s');
    expect(formatSpeed(42 * MB)).toBe('42 MB/s');
  });
  it('shows the time left', () => {
    expect(formatTimeLeft(null)).toBe('estimating time left');
    expect(formatTimeLeft(0.4)).toBe('almost done');
    expect(formatTimeLeft(4.2)).toBe('5 s left');
    expect(formatTimeLeft(80)).toBe('1 min 20 s left');
    expect(formatTimeLeft(3 * 3600 + 120)).toBe('3 h 2 min left');
  });
});

describe('TransferMeter', () => {
  it('turns progress events into the figures shown', () => {
    const meter = new TransferMeter(3000);
    meter.add(0, 0);
    meter.add(1000, 1 * MB);
    meter.add(2000, 2 * MB);
    const f = meter.figures(10 * MB);
    expect(f).toEqual({ loaded: 2 * MB, total: 10 * MB, percent: 20, bytesPerSecond: 1 * MB, secondsLeft: 8 });
  });
  it('forgets samples older than the window', () => {
    const meter = new TransferMeter(1000);
    meter.add(0, 0);
    meter.add(500, 5 * MB); // burst
    for (let t = 1000; t <= 10_000; t += 500) meter.add(t, 5 * MB + ((t - 500) / 1000) * MB);
    expect(meter.figures(100 * MB).bytesPerSecond).toBeCloseTo(1 * MB);
  });
});
