import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mockApi, ok } from '@/test/mock-api';
import { renewDelay } from '../api/get-playback';
import type { EngineFactory } from '../lib/engine';
import type { PlayerEngine, PlayerSources } from '../lib/engine-shared';
import { VideoPlayer } from './video-player';

// The engines need Media Source Extensions, which jsdom lacks: a fake one
// records the sources it was given.
const attached: PlayerSources[] = [];
const destroyed = vi.fn();
vi.mock('../lib/engine', async (importOriginal) => {
  const real = await importOriginal<typeof import('../lib/engine')>();
  const factory: EngineFactory = (_video, src) => {
    attached.push(src);
    const engine: PlayerEngine = {
      kind: 'dash',
      levels: () => [],
      renderedIndex: () => null,
      autoEnabled: () => true,
      setLevel: () => undefined,
      destroy: destroyed,
    };
    return engine;
  };
  return { ...real, detectSupport: () => ({ mse: true, anyMse: true, nativeHls: false }), loadEngine: async () => factory };
});

const ID = 'c'.repeat(24);

function renderPlayer() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <VideoPlayer videoId={ID} title="Secret" renditions={[]} />
    </QueryClientProvider>,
  );
}

beforeEach(() => {
  attached.length = 0;
  destroyed.mockClear();
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('VideoPlayer', () => {
  it('plays the URLs the playback endpoint hands out, not ones built from the id', async () => {
    const api = mockApi({
      [`GET /api/videos/${ID}/playback`]: ok({
        dashUrl: `/media/t/tok1/${ID}/manifest.mpd`,
        hlsUrl: `/media/t/tok1/${ID}/master.m3u8`,
        thumbnailUrl: `/media/t/tok1/${ID}/thumbnail.jpg`,
        expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      }),
    });
    renderPlayer();
    await waitFor(() => expect(attached).toHaveLength(1));
    expect(attached[0]).toMatchObject({ manifestUrl: `/media/t/tok1/${ID}/manifest.mpd`, hlsUrl: `/media/t/tok1/${ID}/master.m3u8` });
    expect(screen.getByTestId('video-player')).toHaveAttribute('poster', `/media/t/tok1/${ID}/thumbnail.jpg`);
    expect(api).toHaveBeenCalledTimes(1);
    expect(String(api.mock.calls[0][0])).toBe(`/api/videos/${ID}/playback`);
  });

  it('fetches new signed URLs shortly before they expire and plays those', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let n = 0;
    const api = mockApi({
      [`GET /api/videos/${ID}/playback`]: () => {
        n += 1;
        return ok({
          dashUrl: `/media/t/tok${n}/${ID}/manifest.mpd`,
          hlsUrl: null,
          thumbnailUrl: null,
          expiresAt: new Date(Date.now() + 120_000).toISOString(),
        });
      },
    });
    renderPlayer();
    await waitFor(() => expect(attached).toHaveLength(1));
    // Two minutes of validity: renewed a fifth of that (24 s) before the end.
    await act(async () => {
      await vi.advanceTimersByTimeAsync(90_000);
    });
    expect(api).toHaveBeenCalledTimes(1);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(10_000);
    });
    await waitFor(() => expect(attached).toHaveLength(2));
    expect(api).toHaveBeenCalledTimes(2);
    expect(attached[1].manifestUrl).toBe(`/media/t/tok2/${ID}/manifest.mpd`);
    expect(destroyed).toHaveBeenCalledTimes(1);
  });

  it('does not renew plain URLs of a public video', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const api = mockApi({
      [`GET /api/videos/${ID}/playback`]: ok({ dashUrl: `/media/${ID}/manifest.mpd`, hlsUrl: `/media/${ID}/master.m3u8`, thumbnailUrl: null, expiresAt: null }),
    });
    renderPlayer();
    await waitFor(() => expect(attached).toHaveLength(1));
    await act(async () => {
      await vi.advanceTimersByTimeAsync(3_600_000);
    });
    expect(api).toHaveBeenCalledTimes(1);
  });

  it('says so when playback is refused', async () => {
    mockApi({ [`GET /api/videos/${ID}/playback`]: { status: 404, body: { success: false, error: { code: 'not_found', message: 'video not found' } } } });
    renderPlayer();
    expect(await screen.findByText('Could not start playback')).toBeInTheDocument();
    expect(attached).toHaveLength(0);
  });
});

describe('renewDelay', () => {
  const now = Date.parse('2026-01-01T00:00:00.000Z');
  const at = (ms: number) => new Date(now + ms).toISOString();
  it('is off for URLs that do not expire', () => {
    expect(renewDelay(null, now)).toBe(false);
    expect(renewDelay('not a date', now)).toBe(false);
  });
  it('renews a minute ahead of a long validity, a fifth ahead of a short one', () => {
    expect(renewDelay(at(3_600_000), now)).toBe(3_540_000);
    expect(renewDelay(at(100_000), now)).toBe(80_000);
  });
  it('never asks more often than every 15 s, even when the clocks disagree', () => {
    expect(renewDelay(at(10_000), now)).toBe(15_000);
    expect(renewDelay(at(-60_000), now)).toBe(15_000);
  });
});
