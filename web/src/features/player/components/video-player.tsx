import { useMemo, useRef } from 'react';
import { Alert } from '@/components/ui/alert';
import { usePlayerEngine } from '../hooks/use-player-engine';
import type { PlayerSources } from '../lib/engine-shared';
import { QualityPicker } from './quality-picker';

export interface VideoPlayerProps extends PlayerSources {
  title: string;
  poster?: string | null;
}

const ENGINE_NAMES = { dash: 'DASH', hls: 'HLS', native: 'HLS (native)' } as const;

/** The adaptive player with its quality picker. */
export function VideoPlayer({ title, manifestUrl, hlsUrl, renditions, poster }: VideoPlayerProps) {
  const videoRef = useRef<HTMLVideoElement>(null);
  const src = useMemo(() => ({ manifestUrl, hlsUrl, renditions }), [manifestUrl, hlsUrl, renditions]);
  const { kind, levels, selected, rendered, error, select } = usePlayerEngine(videoRef, src);

  return (
    <div className="space-y-2">
      <div className="overflow-hidden rounded-lg bg-black">
        <video
          ref={videoRef}
          className="aspect-video w-full bg-black"
          controls
          playsInline
          preload="metadata"
          poster={poster ?? undefined}
          aria-label={`Video player: ${title}`}
          data-testid="video-player"
        />
      </div>
      {error && (
        <Alert tone="error" title="Playback problem" data-testid="player-error">
          {error}
        </Alert>
      )}
      <div className="flex flex-wrap items-center justify-between gap-2">
        <QualityPicker
          options={levels.map((l) => ({ value: String(l.index), label: l.label }))}
          value={selected === 'auto' ? 'auto' : String(selected)}
          onChange={(v) => select(v === 'auto' ? 'auto' : Number(v))}
          renderedLabel={rendered}
          disabled={levels.length === 0}
        />
        <p className="text-xs text-muted-foreground" aria-live="polite" data-testid="player-status">
          {kind ? `${ENGINE_NAMES[kind]}` : 'Starting player…'}
          {rendered ? ` · now playing ${rendered}` : ''}
        </p>
      </div>
    </div>
  );
}
