import { Badge, type BadgeTone } from '@/components/ui/badge';
import type { VideoStatus } from '@/lib/video';

const LOOK: Record<VideoStatus, { label: string; tone: BadgeTone; hint: string }> = {
  UPLOADING: { label: 'Uploading', tone: 'info', hint: 'The file is on its way to the server' },
  UPLOADED: { label: 'Queued', tone: 'neutral', hint: 'Uploaded; waiting for a worker to process it' },
  PROCESSING: { label: 'Processing', tone: 'progress', hint: 'Being encoded into streaming qualities' },
  READY: { label: 'Ready', tone: 'success', hint: 'Ready to watch' },
  ERROR: { label: 'Failed', tone: 'danger', hint: 'Processing failed' },
};

export function statusLabel(status: VideoStatus): string {
  return LOOK[status]?.label ?? status;
}

/** The video's status as a coloured pill; given a progress, PROCESSING shows it (and pulses). */
export function StatusBadge({ status, progress }: { status: VideoStatus; progress?: number }) {
  const look = LOOK[status] ?? { label: status, tone: 'neutral' as const, hint: status };
  const pct = status === 'PROCESSING' && progress !== undefined ? ` ${Math.floor(progress)}%` : '';
  return (
    <Badge tone={look.tone} title={look.hint} data-testid="status-badge" data-status={status}>
      {status === 'PROCESSING' && progress !== undefined && (
        <span aria-hidden="true" className="h-1.5 w-1.5 animate-pulse rounded-full bg-current" />
      )}
      {look.label}
      {pct}
    </Badge>
  );
}
