import { statusLabel } from '@/components/status-badge';
import { cn } from '@/lib/utils';
import { VIDEO_STATUSES, type VideoStatus } from '@/lib/video';
import { useStats } from '../api/get-stats';

/** Count per status; each tile filters the library to that status. */
export function StatsOverview({ active, onSelect }: { active: VideoStatus | ''; onSelect: (s: VideoStatus | '') => void }) {
  const stats = useStats();
  const tiles: Array<{ key: VideoStatus | ''; label: string; count: number | undefined }> = [
    { key: '', label: 'All videos', count: stats.data?.total },
    ...VIDEO_STATUSES.map((s) => ({ key: s, label: statusLabel(s), count: stats.data?.byStatus[s] })),
  ];
  return (
    <section aria-label="Overview" data-testid="stats-overview">
      {stats.isError && <p className="mb-2 text-sm text-muted-foreground">Counts are unavailable right now.</p>}
      <ul className="grid grid-cols-3 gap-2 sm:grid-cols-6">
        {tiles.map((t) => (
          <li key={t.key || 'all'}>
            <button
              type="button"
              onClick={() => onSelect(t.key)}
              aria-pressed={active === t.key}
              className={cn(
                'w-full rounded-lg border bg-card px-2 py-2 text-left transition hover:bg-accent focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring',
                active === t.key && 'border-primary ring-1 ring-primary',
              )}
            >
              <span className="block text-xl font-semibold tabular-nums" data-testid={`stat-${t.key || 'total'}`}>
                {t.count ?? '–'}
              </span>
              <span className="block truncate text-xs text-muted-foreground">{t.label}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
