import { useQuery } from '@tanstack/react-query';
import { apiClient } from '@/lib/api-client';
import { videoKeys } from '@/lib/query-keys';
import { videoSchema, type Video } from '@/lib/video';

/** GET /api/videos/:id */
export function getVideo(id: string, signal?: AbortSignal): Promise<Video> {
  return apiClient.get(`/api/videos/${encodeURIComponent(id)}`, videoSchema, undefined, signal);
}

export function useVideo(id: string | undefined) {
  return useQuery({
    queryKey: videoKeys.detail(id ?? ''),
    queryFn: ({ signal }) => getVideo(id!, signal),
    enabled: Boolean(id),
  });
}
