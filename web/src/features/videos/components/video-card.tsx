import { useState } from 'react';
import { Link } from 'react-router-dom';
import { StatusBadge } from '@/components/status-badge';
import { Progress } from '@/components/ui/progress';
import { VisibilityBadge } from '@/components/visibility';
import { formatDateTime, formatDuration } from '@/lib/format';
import { useRealtimeConnected, useVideoRoom } from '@/lib/realtime/realtime-provider';
import { isFinalStatus, type Video } from '@/lib/video';
import { useVideoStatus } from '../api/get-video-status';

/** One video in the library grid; follows its status live while it changes. */
export function VideoCard({ video }: { video: Video }) {
  const changing = !isFinalStatus(video.status);
  const connected = useRealtimeConnected();
  useVideoRoom(video.id, changing);
  useVideoStatus(video.id, { poll: changing && !connected });
  // A private video's thumbnail needs a playback token the list does not carry.
  const [thumbFailed, setThumbFailed] = useState(false);

  return (
    <li data-testid="video-card" data-video-id={video.id} className="group">
      <Link
        to={`/videos/${video.id}`}
        className="block overflow-hidden rounded-lg border bg-card shadow-sm transition hover:shadow-md focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring"
      >
        <div className="relative aspect-video bg-slate-900">
          {video.thumbnailUrl && !thumbFailed ? (
            <img src={video.thumbnailUrl} alt="" loading="lazy" className="h-full w-full object-cover" onError={() => setThumbFailed(true)} />
          ) : (
            <div className="flex h-full items-center justify-center text-xs text-slate-400" aria-hidden="true">
              {video.status === 'ERROR' || thumbFailed ? 'No preview' : 'Preview soon'}
            </div>
          )}
          {video.duration > 0 && (
            <span className="absolute bottom-2 right-2 rounded bg-black/75 px-1.5 py-0.5 text-xs font-medium text-white">
              <span className="sr-only">Duration </span>
              {formatDuration(video.duration)}
            </span>
          )}
        </div>
        <div className="space-y-2 p-3">
          <div className="flex items-start justify-between gap-2">
            <h3 className="line-clamp-2 break-words font-medium leading-snug group-hover:underline" data-testid="video-card-title">
              {video.title}
            </h3>
            <StatusBadge status={video.status} progress={video.progress} />
          </div>
          {(video.status === 'PROCESSING' || video.status === 'UPLOADED') && (
            <Progress value={video.progress} label={`Processing ${video.title}`} className="h-1.5" />
          )}
          <div className="flex items-center justify-between gap-2">
            <p className="text-xs text-muted-foreground">{formatDateTime(video.createdAt)}</p>
            <VisibilityBadge visibility={video.visibility} />
          </div>
        </div>
      </Link>
    </li>
  );
}
