import { useQuery, useQueryClient } from '@tanstack/react-query';
import { apiClient } from '@/lib/api-client';
import { videoKeys } from '@/lib/query-keys';
import { applyStatusSnapshot } from '@/lib/realtime/cache-patch';
import { videoStatusInfoSchema, type VideoStatusInfo } from '@/lib/video';

export const STATUS_POLL_MS = 2000;

/** GET /api/videos/:id/status — the light-weight status snapshot. */
export function getVideoStatus(id: string, signal?: AbortSignal): Promise<VideoStatusInfo> {
  return apiClient.get(`/api/videos/${encodeURIComponent(id)}/status`, videoStatusInfoSchema, undefined, signal);
}

/**
 * The status snapshot of a video. Realtime events keep it current; with
 * `poll` set (the socket is down and the video is not finished) it is fetched
 * every 2 s instead, and each answer is written into the rest of the cache.
 */
export function useVideoStatus(id: string | undefined, { poll }: { poll: boolean }) {
  const qc = useQueryClient();
  return useQuery({
    queryKey: videoKeys.status(id ?? ''),
    queryFn: async ({ signal }) => {
      const info = await getVideoStatus(id!, signal);
      applyStatusSnapshot(qc, info);
      // Keep the stage a realtime event may have left: a snapshot has none.
      const prev = qc.getQueryData<VideoStatusInfo>(videoKeys.status(id!));
      return { ...info, stage: info.status === 'PROCESSING' ? prev?.stage : undefined };
    },
    enabled: Boolean(id) && poll,
    refetchInterval: poll ? STATUS_POLL_MS : false,
    refetchIntervalInBackground: false,
    staleTime: 0,
  });
}
