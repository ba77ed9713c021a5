import { infiniteQueryOptions } from '@tanstack/react-query';
import { apiClient } from '@/lib/api-client';
import { videoKeys } from '@/lib/query-keys';
import { videoPageSchema, type VideoPage } from '@/lib/video';

export const PAGE_SIZE = 12;

/** GET /api/videos — newest first, cursor paginated. */
export function getVideos(cursor: string | null, signal?: AbortSignal): Promise<VideoPage> {
  return apiClient.page('/api/videos', videoPageSchema, { limit: PAGE_SIZE, cursor }, signal);
}

export const videosQueryOptions = () =>
  infiniteQueryOptions({
    queryKey: videoKeys.list({ kind: 'all' }),
    queryFn: ({ pageParam, signal }) => getVideos(pageParam, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => (last.pagination.hasMore ? last.pagination.nextCursor : null),
  });
