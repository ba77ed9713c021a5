import { infiniteQueryOptions } from '@tanstack/react-query';
import { apiClient } from '@/lib/api-client';
import { videoKeys } from '@/lib/query-keys';
import { videoPageSchema, type VideoPage } from '@/lib/video';
import { PAGE_SIZE } from './get-videos';

/** GET /api/videos/search?q= — title and description match. */
export function searchVideos(q: string, cursor: string | null, signal?: AbortSignal): Promise<VideoPage> {
  return apiClient.page('/api/videos/search', videoPageSchema, { q, limit: PAGE_SIZE, cursor }, signal);
}

export const searchVideosQueryOptions = (q: string) =>
  infiniteQueryOptions({
    queryKey: videoKeys.list({ kind: 'search', q }),
    queryFn: ({ pageParam, signal }) => searchVideos(q, pageParam, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => (last.pagination.hasMore ? last.pagination.nextCursor : null),
  });
