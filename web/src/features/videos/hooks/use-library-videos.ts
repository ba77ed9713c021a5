import { useInfiniteQuery } from '@tanstack/react-query';
import type { VideoStatus } from '@/lib/video';
import { videosQueryOptions } from '../api/get-videos';
import { videosByStatusQueryOptions } from '../api/get-videos-by-status';
import { searchVideosQueryOptions } from '../api/search-videos';

export interface LibraryFilters {
  q: string;
  status: VideoStatus | '';
}

/** The library's list: search when there is a query, else by status, else everything. */
export function useLibraryVideos({ q, status }: LibraryFilters) {
  const term = q.trim();
  const options = term
    ? searchVideosQueryOptions(term)
    : status
      ? videosByStatusQueryOptions(status)
      : videosQueryOptions();
  const query = useInfiniteQuery(options);
  let items = query.data?.pages.flatMap((p) => p.data) ?? [];
  // Search has no status parameter: narrow its results here.
  if (term && status) items = items.filter((v) => v.status === status);
  return { ...query, items };
}
