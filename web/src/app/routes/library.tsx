import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { PageHeading } from '@/components/page-heading';
import { buttonClasses } from '@/components/ui/button';
import { LibraryToolbar, StatsOverview, useDebouncedValue, VideoGrid } from '@/features/videos';
import { videoStatusSchema, type VideoStatus } from '@/lib/video';

/** /videos?q=&status= — the filters live in the URL, so they survive reloads and can be shared. */
export function LibraryRoute() {
  const [params, setParams] = useSearchParams();
  const status = (videoStatusSchema.safeParse(params.get('status')).data ?? '') as VideoStatus | '';
  const [q, setQ] = useState(params.get('q') ?? '');
  const debouncedQ = useDebouncedValue(q, 300);

  useEffect(() => {
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (debouncedQ.trim()) next.set('q', debouncedQ);
        else next.delete('q');
        return next;
      },
      { replace: true },
    );
  }, [debouncedQ, setParams]);

  const setStatus = (s: VideoStatus | '') =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (s) next.set('status', s);
        else next.delete('status');
        return next;
      },
      { replace: true },
    );

  return (
    <div>
      <div className="flex items-start justify-between gap-2">
        <PageHeading subtitle="Everything uploaded, with its processing state.">Library</PageHeading>
        <Link to="/" className={buttonClasses('default', 'md', 'shrink-0')}>
          Upload
        </Link>
      </div>
      <div className="space-y-6">
        <StatsOverview active={status} onSelect={setStatus} />
        <LibraryToolbar q={q} status={status} onQueryChange={setQ} onStatusChange={setStatus} />
        <VideoGrid filters={{ q: debouncedQ, status }} />
      </div>
    </div>
  );
}
