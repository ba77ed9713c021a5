import { Link } from 'react-router-dom';
import { EmptyState, ErrorState } from '@/components/states';
import { Button, buttonClasses } from '@/components/ui/button';
import { Spinner } from '@/components/ui/spinner';
import { useLibraryVideos, type LibraryFilters } from '../hooks/use-library-videos';
import { VideoCard } from './video-card';

export function VideoGrid({ filters }: { filters: LibraryFilters }) {
  const list = useLibraryVideos(filters);
  const filtered = !filters.mine && Boolean(filters.q.trim() || filters.status);

  const moreFailed = list.isFetchNextPageError;
  const listError = list.error;
  if (list.isPending) return <Spinner label="Loading videos" />;
  if (list.isError && !list.data) return <ErrorState error={list.error} title="Could not load the videos" onRetry={() => void list.refetch()} />;
  if (list.items.length === 0 && !list.hasNextPage) {
    return filtered ? (
      <EmptyState title="No videos match">Try another word or clear the status filter.</EmptyState>
    ) : (
      <EmptyState title={filters.mine ? 'You have not uploaded any videos yet' : 'No videos yet'}>
        <Link to="/" className={buttonClasses('default', 'md', 'mt-2')}>
          Upload your first video
        </Link>
      </EmptyState>
    );
  }
  return (
    <div className="space-y-4">
      <ul className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3" aria-label="Videos" data-testid="video-grid">
        {list.items.map((v) => (
          <VideoCard key={v.id} video={v} />
        ))}
      </ul>
      {list.hasNextPage && (
        <div className="flex justify-center">
          <Button variant="outline" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage} data-testid="load-more">
            {list.isFetchingNextPage ? 'Loading…' : 'Load more'}
          </Button>
        </div>
      )}
      {moreFailed && <ErrorState error={listError} title="Could not load more videos" />}
    </div>
  );
}
