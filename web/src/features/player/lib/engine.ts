import type { Rendition } from '@/lib/video';

// A player engine drives one <video> element: dash.js for DASH, hls.js for
// HLS where Media Source Extensions exist, or the browser itself for HLS
// (Safari on iPhone). The component talks only to this interface.

export interface QualityLevel {
  /** The engine's own index for this level. */
  index: number;
  width: number;
  height: number;
  bitrate: number;
  /** "1080p", "720p", … */
  label: string;
}

export type EngineKind = 'dash' | 'hls' | 'native';

export interface EngineEvents {
  /** The list of levels is known or changed. */
  onLevels(): void;
  /** Another level is now rendering, or auto/manual changed. */
  onSwitch(): void;
  onError(message: string): void;
}

export interface PlayerEngine {
  readonly kind: EngineKind;
  /** Highest first. Empty when the engine cannot choose (native HLS). */
  levels(): QualityLevel[];
  /** The level on screen, as far as the engine knows. */
  renderedIndex(): number | null;
  autoEnabled(): boolean;
  /** A fixed level, switched at once (the buffer is flushed), or back to adaptive. */
  setLevel(index: number | 'auto'): void;
  destroy(): void;
}

export interface EngineSources {
  manifestUrl: string | null;
  hlsUrl: string | null;
  renditions: Rendition[];
}

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
export function chooseEngine(src: EngineSources, support: BrowserSupport, preferred?: string | null): EngineKind | null {
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

/** A rung's name: the server's rendition name when sizes match, else "<short side>p". */
export function labelFor(width: number, height: number, renditions: Rendition[]): string {
  const hit = renditions.find((r) => r.width === width && r.height === height);
  if (hit) return hit.name;
  if (!width || !height) return `${height || width}p`;
  return `${Math.min(width, height)}p`;
}

export function sortLevels(levels: QualityLevel[]): QualityLevel[] {
  return [...levels].sort((a, b) => b.height * b.width - a.height * a.width || b.bitrate - a.bitrate);
}

/** Builds an engine on a <video>; attaching happens inside, at once. */
export type EngineFactory = (video: HTMLVideoElement, src: EngineSources, events: EngineEvents) => PlayerEngine;

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
