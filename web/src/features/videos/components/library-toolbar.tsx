import { Input, Label } from '@/components/ui/input';
import { statusLabel } from '@/components/status-badge';
import { VIDEO_STATUSES, type VideoStatus } from '@/lib/video';

export function LibraryToolbar({
  q,
  status,
  onQueryChange,
  onStatusChange,
}: {
  q: string;
  status: VideoStatus | '';
  onQueryChange: (q: string) => void;
  onStatusChange: (s: VideoStatus | '') => void;
}) {
  return (
    <form role="search" className="flex flex-col gap-3 sm:flex-row sm:items-end" onSubmit={(e) => e.preventDefault()}>
      <div className="flex-1 space-y-1.5">
        <Label htmlFor="library-search">Search</Label>
        <Input
          id="library-search"
          type="search"
          placeholder="Search titles and descriptions"
          value={q}
          onChange={(e) => onQueryChange(e.target.value)}
          data-testid="search-input"
          autoComplete="off"
        />
      </div>
      <div className="space-y-1.5 sm:w-48">
        <Label htmlFor="library-status">Status</Label>
        <select
          id="library-status"
          value={status}
          onChange={(e) => onStatusChange(e.target.value as VideoStatus | '')}
          className="h-10 w-full rounded-md border border-input bg-background px-3 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring"
          data-testid="status-filter"
        >
          <option value="">Any status</option>
          {VIDEO_STATUSES.map((s) => (
            <option key={s} value={s}>
              {statusLabel(s)}
            </option>
          ))}
        </select>
      </div>
    </form>
  );
}
