import { Link } from 'react-router-dom';
import { StatusBadge } from '@/components/status-badge';
import { Alert } from '@/components/ui/alert';
import { buttonClasses } from '@/components/ui/button';
import { Progress } from '@/components/ui/progress';
import { Spinner } from '@/components/ui/spinner';
import { ErrorState } from '@/components/states';
import type { Video } from '@/lib/video';
import { useLiveVideo } from '../hooks/use-live-video';

const STAGES: Record<string, string> = {
  probing: 'Reading the file',
  encoding: 'Encoding qualities',
  packaging: 'Packaging streams',
  uploading: 'Publishing streams',
};

function describe(video: Video, stage?: string): string {
  switch (video.status) {
    case 'UPLOADING':
      return 'Waiting for the upload to finish.';
    case 'UPLOADED':
      return 'Uploaded. Waiting for a free worker to start processing.';
    case 'PROCESSING':
      return `${(stage && STAGES[stage]) || 'Processing'}…`;
    case 'READY':
      return 'Processed and ready to stream.';
    case 'ERROR':
      return 'Processing failed.';
  }
}

/** Live processing state of one video: badge, progress, stage, and where to go next. */
export function ProcessingStatus({ videoId, showWatchLink = true }: { videoId: string; showWatchLink?: boolean }) {
  const { video, stage, connected } = useLiveVideo(videoId);
  if (video.isPending) return <Spinner label="Loading status" />;
  if (video.isError) return <ErrorState error={video.error} title="Could not load the video's status" onRetry={() => void video.refetch()} />;
  const v = video.data;
  const pct = v.status === 'READY' ? 100 : v.status === 'PROCESSING' ? v.progress : 0;
  return (
    <section aria-label="Processing status" className="space-y-3" data-testid="processing-status">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <StatusBadge status={v.status} progress={v.progress} />
        <span className="text-xs text-muted-foreground" title={connected ? 'Live updates' : 'Checking every 2 seconds'}>
          {connected ? 'Live' : 'Updating…'}
        </span>
      </div>
      {v.status !== 'ERROR' && (
        <div className="space-y-1">
          <Progress value={pct} label="Processing progress" indicatorClassName={v.status === 'READY' ? 'bg-emerald-500' : undefined} />
          <p className="flex justify-between text-sm text-muted-foreground" aria-live="polite">
            <span>{describe(v, stage)}</span>
            <span data-testid="processing-percent">{Math.floor(pct)}%</span>
          </p>
        </div>
      )}
      {v.status === 'ERROR' && (
        <Alert tone="error" title="Processing failed">
          {v.errorMessage || 'The server could not process this file.'}
        </Alert>
      )}
      {v.status === 'READY' && showWatchLink && (
        <Link to={`/videos/${v.id}`} className={buttonClasses('default', 'md')} data-testid="watch-link">
          Watch “{v.title}”
        </Link>
      )}
    </section>
  );
}
