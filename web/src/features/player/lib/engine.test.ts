import { describe, expect, it } from 'vitest';
import { chooseEngine } from './engine';

const both = { manifestUrl: '/media/x/manifest.mpd', hlsUrl: '/media/x/master.m3u8', renditions: [] };
const desktop = { mse: true, anyMse: true, nativeHls: false };
const iphone = { mse: false, anyMse: false, nativeHls: true };
const newIphone = { mse: false, anyMse: true, nativeHls: true }; // ManagedMediaSource

describe('chooseEngine', () => {
  it('uses dash.js where MSE exists', () => expect(chooseEngine(both, desktop)).toBe('dash'));
  it('uses native HLS without MSE (iPhone)', () => expect(chooseEngine(both, iphone)).toBe('native'));
  it('uses hls.js with ManagedMediaSource only', () => expect(chooseEngine(both, newIphone)).toBe('hls'));
  it('falls back to HLS when there is no DASH manifest', () =>
    expect(chooseEngine({ ...both, manifestUrl: null }, desktop)).toBe('hls'));
  it('honours a preferred engine that can work', () => {
    expect(chooseEngine(both, desktop, 'hls')).toBe('hls');
    expect(chooseEngine(both, desktop, 'native')).toBe('dash');
    expect(chooseEngine(both, desktop, 'bogus')).toBe('dash');
  });
  it('gives up when nothing can play', () =>
    expect(chooseEngine(both, { mse: false, anyMse: false, nativeHls: false })).toBeNull());
});
