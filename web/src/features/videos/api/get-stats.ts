import { useQuery } from '@tanstack/react-query';
import { apiClient } from '@/lib/api-client';
import { videoKeys } from '@/lib/query-keys';
import { statsSchema, type VideoStats } from '@/lib/video';

/** GET /api/videos/stats/overview — how many videos in each status. */
export function getStats(signal?: AbortSignal): Promise<VideoStats> {
  return apiClient.get('/api/videos/stats/overview', statsSchema, undefined, signal);
}

export function useStats() {
  return useQuery({ queryKey: videoKeys.stats(), queryFn: ({ signal }) => getStats(signal) });
}
