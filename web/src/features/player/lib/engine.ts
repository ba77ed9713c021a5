import type { EngineEvents, EngineKind, PlayerEngine, PlayerSources } from './engine-shared';

// Chooses and loads a player engine. The engines import only engine-shared.ts,
// never this file: each is a separate chunk that loadEngine() imports lazily.

export interface BrowserSupport {
  /** Classic MediaSource (dash.js needs it). */
  mse: boolean;
  /** MediaSource or ManagedMediaSource (hls.js can use either). */
  anyMse: boolean;
  /** The <video> element plays HLS by itself. */
  nativeHls: boolean;
}

export function detectSupport(video?: HTMLVideoElement): BrowserSupport {
  const w = typeof window === 'undefined' ? undefined : (window as unknown as Record<string, unknown>);
  const mse = Boolean(w?.MediaSource);
  const anyMse = mse || Boolean(w?.ManagedMediaSource);
  const el = video ?? (typeof document !== 'undefined' ? document.createElement('video') : undefined);
  const nativeHls = Boolean(el?.canPlayType?.('application/vnd.apple.mpegurl'));
  return { mse, anyMse, nativeHls };
}

/** Which engine to use: the preferred one if it can work here, else DASH, else HLS. */
export function chooseEngine(src: PlayerSources, support: BrowserSupport, preferred?: string | null): EngineKind | null {
  const can: Record<EngineKind, boolean> = {
    dash: Boolean(src.manifestUrl) && support.mse,
    hls: Boolean(src.hlsUrl) && support.anyMse,
    native: Boolean(src.hlsUrl) && support.nativeHls,
  };
  if (preferred && preferred in can && can[preferred as EngineKind]) return preferred as EngineKind;
  if (can.dash) return 'dash';
  if (can.hls) return 'hls';
  if (can.native) return 'native';
  return null;
}

/** Builds an engine on a <video>; attaching happens inside, at once. */
export type EngineFactory = (video: HTMLVideoElement, src: PlayerSources, events: EngineEvents) => PlayerEngine;

/**
 * Loads an engine's code (a separate chunk) without touching any <video>.
 * Callers check that they still want the engine before calling the factory:
 * attaching is synchronous there, so two engines can never overlap on one
 * element (one being destroyed after the next attached would detach it).
 */
export async function loadEngine(kind: EngineKind): Promise<EngineFactory> {
  switch (kind) {
    case 'dash': {
      const { createDashEngine } = await import('./dash-engine');
      return (video, src, events) => createDashEngine(video, src.manifestUrl!, src.renditions, events);
    }
    case 'hls': {
      const { createHlsEngine } = await import('./hls-engine');
      return (video, src, events) => createHlsEngine(video, src.hlsUrl!, src.renditions, events);
    }
    case 'native': {
      const { createNativeEngine } = await import('./native-engine');
      return (video, src, events) => createNativeEngine(video, src.hlsUrl!, events);
    }
  }
}
