import { act, renderHook } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EngineFactory } from '../lib/engine';
import type { EngineKind, PlayerEngine } from '../lib/engine-shared';
import { usePlayerEngine } from './use-player-engine';

// Engine code loads asynchronously; each call hands back a promise the test
// resolves when it wants.
const pending: Array<{ kind: EngineKind; resolve: (f: EngineFactory) => void }> = [];
vi.mock('../lib/engine', async (importOriginal) => {
  const real = await importOriginal<typeof import('../lib/engine')>();
  return {
    ...real,
    detectSupport: () => ({ mse: true, anyMse: true, nativeHls: false }),
    loadEngine: (kind: EngineKind) => new Promise<EngineFactory>((resolve) => pending.push({ kind, resolve })),
  };
});

function fakeEngine(): PlayerEngine {
  return {
    kind: 'dash',
    levels: () => [],
    renderedIndex: () => null,
    autoEnabled: () => true,
    setLevel: vi.fn(),
    destroy: vi.fn(),
  };
}

afterEach(() => {
  pending.length = 0;
});

describe('usePlayerEngine', () => {
  it('never attaches an engine whose run was superseded', async () => {
    const video = document.createElement('video');
    const ref = { current: video };
    const a = { manifestUrl: '/media/a/manifest.mpd', hlsUrl: null, renditions: [] };
    const b = { manifestUrl: '/media/b/manifest.mpd', hlsUrl: null, renditions: [] };
    const { rerender, unmount } = renderHook(({ src }) => usePlayerEngine(ref, src), { initialProps: { src: a } });
    rerender({ src: b }); // a new source before the first engine's code arrived
    expect(pending).toHaveLength(2);

    const engineA = fakeEngine();
    const engineB = fakeEngine();
    const factoryA = vi.fn<EngineFactory>(() => engineA);
    const factoryB = vi.fn<EngineFactory>(() => engineB);
    // The superseded load finishes last, as in the race seen in Chromium.
    await act(async () => pending[1].resolve(factoryB));
    await act(async () => pending[0].resolve(factoryA));

    expect(factoryA).not.toHaveBeenCalled(); // it would have taken the <video> over
    expect(factoryB).toHaveBeenCalledTimes(1);
    expect(factoryB.mock.calls[0][1]).toEqual(b);
    expect(engineB.destroy).not.toHaveBeenCalled();
    unmount();
    expect(engineB.destroy).toHaveBeenCalledTimes(1);
  });

  it('carries on from the same position when the URLs are renewed', async () => {
    const video = document.createElement('video');
    let time = 0;
    Object.defineProperty(video, 'currentTime', { get: () => time, set: (t: number) => (time = t), configurable: true });
    Object.defineProperty(video, 'paused', { get: () => false, configurable: true });
    const play = vi.fn(async () => undefined);
    video.play = play;
    const ref = { current: video };
    const a = { manifestUrl: '/media/t/old/v/manifest.mpd', hlsUrl: null, renditions: [] };
    const b = { manifestUrl: '/media/t/new/v/manifest.mpd', hlsUrl: null, renditions: [] };
    const { rerender, unmount } = renderHook(({ src }) => usePlayerEngine(ref, src), { initialProps: { src: a } });
    await act(async () => pending[0].resolve(() => fakeEngine()));
    time = 42.5; // watching…
    rerender({ src: b });
    time = 0; // the old engine's teardown resets the element
    await act(async () => pending[1].resolve(() => fakeEngine()));
    act(() => {
      video.dispatchEvent(new Event('loadedmetadata'));
    });
    expect(time).toBe(42.5);
    expect(play).toHaveBeenCalledTimes(1);
    unmount();
  });
});
