import { infiniteQueryOptions } from '@tanstack/react-query';
import { apiClient } from '@/lib/api-client';
import { videoKeys } from '@/lib/query-keys';
import { videoPageSchema, type VideoPage } from '@/lib/video';
import { PAGE_SIZE } from './get-videos';

/** GET /api/videos?mine=1 — the caller's own videos, whatever their visibility (401 when signed out). */
export function getMyVideos(cursor: string | null, signal?: AbortSignal): Promise<VideoPage> {
  return apiClient.page('/api/videos', videoPageSchema, { mine: 1, limit: PAGE_SIZE, cursor }, signal);
}

export const myVideosQueryOptions = () =>
  infiniteQueryOptions({
    queryKey: videoKeys.list({ kind: 'mine' }),
    queryFn: ({ pageParam, signal }) => getMyVideos(pageParam, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => (last.pagination.hasMore ? last.pagination.nextCursor : null),
  });
