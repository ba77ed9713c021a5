import { formatBitrate, formatBytes, formatDateTime, formatDuration } from '@/lib/format';
import type { Video } from '@/lib/video';

/** Duration, resolution, size, dates and the encoded qualities. */
export function VideoFacts({ video }: { video: Video }) {
  const facts: Array<[string, string]> = [
    ['Duration', formatDuration(video.duration)],
    ['Resolution', video.resolution ?? (video.width && video.height ? `${video.width}x${video.height}` : '—')],
    ['File size', formatBytes(video.fileSize)],
    ['Created', formatDateTime(video.createdAt)],
    ['Updated', formatDateTime(video.updatedAt)],
    ['File', video.fileName || '—'],
  ];
  return (
    <section aria-labelledby="facts-heading" className="space-y-3">
      <h2 id="facts-heading" className="text-base font-semibold">
        Details
      </h2>
      <dl className="divide-y text-sm" data-testid="video-facts">
        {facts.map(([k, v]) => (
          <div key={k} className="flex justify-between gap-4 py-1.5">
            <dt className="shrink-0 text-muted-foreground">{k}</dt>
            <dd className="min-w-0 break-all text-right font-medium">{v}</dd>
          </div>
        ))}
      </dl>
      {video.renditions.length > 0 && (
        <div className="text-sm">
          <p className="text-muted-foreground">Qualities</p>
          <ul className="mt-1 flex flex-wrap gap-1.5">
            {video.renditions
              .filter((r) => r.height > 0)
              .map((r) => (
                <li key={r.id} className="rounded bg-secondary px-2 py-0.5 text-xs" title={`${r.width}x${r.height}, ${formatBitrate(r.bitrate)}`}>
                  {r.name}
                </li>
              ))}
          </ul>
        </div>
      )}
    </section>
  );
}
