import { useInfiniteQuery } from '@tanstack/react-query';
import type { VideoStatus } from '@/lib/video';
import { myVideosQueryOptions } from '../api/get-my-videos';
import { videosQueryOptions } from '../api/get-videos';
import { videosByStatusQueryOptions } from '../api/get-videos-by-status';
import { searchVideosQueryOptions } from '../api/search-videos';

export interface LibraryFilters {
  q: string;
  status: VideoStatus | '';
  /** Only the caller's own videos (q and status are not applied). */
  mine?: boolean;
}

function optionsFor({ q, status, mine }: LibraryFilters) {
  if (mine) return myVideosQueryOptions();
  const term = q.trim();
  if (term) return searchVideosQueryOptions(term);
  return status ? videosByStatusQueryOptions(status) : videosQueryOptions();
}

/** The library's list: the caller's own, else search when there is a query, else by status, else everything. */
export function useLibraryVideos(filters: LibraryFilters) {
  const query = useInfiniteQuery(optionsFor(filters));
  let items = query.data?.pages.flatMap((p) => p.data) ?? [];
  // Search has no status parameter: narrow its results here.
  if (!filters.mine && filters.q.trim() && filters.status) items = items.filter((v) => v.status === filters.status);
  return { ...query, items };
}
