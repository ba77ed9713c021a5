import { describe, expect, it } from 'vitest';
import { chooseEngine, labelFor, sortLevels } from './engine';

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

describe('labelFor', () => {
  const renditions = [
    { id: '0', name: '1080p', width: 1080, height: 1920, bitrate: 1 },
    { id: '1', name: '720p', width: 1280, height: 720, bitrate: 1 },
  ];
  it('uses the server’s rendition name', () => {
    expect(labelFor(1080, 1920, renditions)).toBe('1080p');
    expect(labelFor(1280, 720, renditions)).toBe('720p');
  });
  it('otherwise names the short side', () => {
    expect(labelFor(854, 480, renditions)).toBe('480p');
    expect(labelFor(360, 640, renditions)).toBe('360p');
  });
});

describe('sortLevels', () => {
  it('puts the largest first', () => {
    const l = (index: number, width: number, height: number) => ({ index, width, height, bitrate: width, label: `${height}p` });
    expect(sortLevels([l(0, 640, 360), l(2, 1920, 1080), l(1, 1280, 720)]).map((x) => x.index)).toEqual([2, 1, 0]);
  });
});
