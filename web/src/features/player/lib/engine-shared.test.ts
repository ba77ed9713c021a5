import { describe, expect, it } from 'vitest';
import { labelFor, sortLevels } from './engine-shared';

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
