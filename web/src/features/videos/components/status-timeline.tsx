import { StatusBadge } from '@/components/status-badge';
import { Spinner } from '@/components/ui/spinner';
import { formatDateTime } from '@/lib/format';
import { videoStatusSchema } from '@/lib/video';
import { useNotifications } from '../api/get-notifications';

/** The video's status history, newest first. */
export function StatusTimeline({ videoId }: { videoId: string }) {
  const history = useNotifications(videoId);
  return (
    <section aria-labelledby="timeline-heading" className="space-y-3">
      <h2 id="timeline-heading" className="text-base font-semibold">
        Status history
      </h2>
      {history.isPending && <Spinner label="Loading history" />}
      {history.isError && <p className="text-sm text-muted-foreground">The history is unavailable right now.</p>}
      {history.data && history.data.length === 0 && <p className="text-sm text-muted-foreground">No events yet.</p>}
      {history.data && history.data.length > 0 && (
        <ol className="relative space-y-3 border-l pl-4" data-testid="status-timeline">
          {history.data.map((n) => {
            const status = videoStatusSchema.safeParse(n.status);
            return (
              <li key={n.id} className="relative">
                <span className="absolute -left-[21px] top-1.5 h-2.5 w-2.5 rounded-full border-2 border-background bg-primary" aria-hidden="true" />
                <div className="flex flex-wrap items-center gap-2">
                  {status.success ? <StatusBadge status={status.data} /> : <span className="text-xs font-semibold">{n.status}</span>}
                  <time className="text-xs text-muted-foreground" dateTime={n.createdAt}>
                    {formatDateTime(n.createdAt)}
                  </time>
                </div>
                {n.message && <p className="mt-0.5 text-sm">{n.message}</p>}
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}
