import { infiniteQueryOptions } from '@tanstack/react-query';
import { apiClient } from '@/lib/api-client';
import { videoKeys } from '@/lib/query-keys';
import { videoPageSchema, type VideoPage, type VideoStatus } from '@/lib/video';
import { PAGE_SIZE } from './get-videos';

/** GET /api/videos/status/:status */
export function getVideosByStatus(status: VideoStatus, cursor: string | null, signal?: AbortSignal): Promise<VideoPage> {
  return apiClient.page(`/api/videos/status/${status}`, videoPageSchema, { limit: PAGE_SIZE, cursor }, signal);
}

export const videosByStatusQueryOptions = (status: VideoStatus) =>
  infiniteQueryOptions({
    queryKey: videoKeys.list({ kind: 'status', status }),
    queryFn: ({ pageParam, signal }) => getVideosByStatus(status, pageParam, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => (last.pagination.hasMore ? last.pagination.nextCursor : null),
  });
