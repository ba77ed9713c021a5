import { useMemo, useRef } from 'react';
import { ErrorState } from '@/components/states';
import { Alert } from '@/components/ui/alert';
import { Spinner } from '@/components/ui/spinner';
import type { Rendition } from '@/lib/video';
import { usePlayback } from '../api/get-playback';
import { usePlayerEngine } from '../hooks/use-player-engine';
import type { PlayerSources } from '../lib/engine-shared';
import { QualityPicker } from './quality-picker';

export interface VideoPlayerProps {
  videoId: string;
  title: string;
  renditions: Rendition[];
}

const ENGINE_NAMES = { dash: 'DASH', hls: 'HLS', native: 'HLS (native)' } as const;

/**
 * The player for a READY video. The stream URLs come from the server's
 * playback endpoint (signed and expiring for a private video, renewed before
 * they expire); the page never builds media URLs itself.
 */
export function VideoPlayer({ videoId, title, renditions }: VideoPlayerProps) {
  const playback = usePlayback(videoId);
  if (playback.isPending) return <Spinner label="Preparing the player" />;
  if (playback.isError) {
    return <ErrorState error={playback.error} title="Could not start playback" onRetry={() => void playback.refetch()} />;
  }
  const { dashUrl, hlsUrl, thumbnailUrl } = playback.data;
  return <StreamPlayer title={title} manifestUrl={dashUrl} hlsUrl={hlsUrl} renditions={renditions} poster={thumbnailUrl} />;
}

interface StreamPlayerProps extends PlayerSources {
  title: string;
  poster?: string | null;
}

/** The adaptive player with its quality picker, for known stream URLs. */
function StreamPlayer({ title, manifestUrl, hlsUrl, renditions, poster }: StreamPlayerProps) {
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
