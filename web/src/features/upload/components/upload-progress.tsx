import { Progress } from '@/components/ui/progress';
import { formatBytes } from '@/lib/format';
import { formatSpeed, formatTimeLeft } from '../lib/transfer-stats';
import type { UploadState } from '../hooks/use-upload';

const PHASE_TEXT: Partial<Record<UploadState['phase'], string>> = {
  preparing: 'Preparing the upload…',
  confirming: 'Upload complete. Handing it over for processing…',
  done: 'Upload complete.',
  cancelled: 'Upload cancelled.',
};

export function UploadProgress({ state }: { state: UploadState }) {
  const uploading = state.phase === 'uploading';
  return (
    <div className="space-y-2" data-testid="upload-progress">
      <div className="flex items-baseline justify-between gap-2">
        <span className="text-sm font-medium">{uploading ? 'Uploading…' : PHASE_TEXT[state.phase]}</span>
        <span className="text-2xl font-semibold tabular-nums" data-testid="upload-percent" aria-live="off">
          {state.percent}%
        </span>
      </div>
      <Progress value={state.percent} label="Upload progress" />
      {uploading && (
        <p className="flex flex-wrap justify-between gap-x-4 text-xs text-muted-foreground" data-testid="upload-stats">
          <span>
            {formatBytes(state.loaded)} of {formatBytes(state.total)}
          </span>
          <span data-testid="upload-speed">{formatSpeed(state.bytesPerSecond)}</span>
          <span data-testid="upload-eta">{formatTimeLeft(state.secondsLeft)}</span>
        </p>
      )}
    </div>
  );
}
