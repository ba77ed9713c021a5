import type { Rendition } from '@/lib/video';

// What the engine chooser (engine.ts) and every engine (dash-engine.ts,
// hls-engine.ts, native-engine.ts) share. It imports none of them, so the
// engines, loaded lazily by engine.ts, never import their loader back.
//
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

/** What a video offers to play: a DASH manifest, an HLS playlist, or both. */
export interface PlayerSources {
  manifestUrl: string | null;
  hlsUrl: string | null;
  renditions: Rendition[];
}

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
