import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';
import { apiClient } from '@/lib/api-client';
import { videoKeys } from '@/lib/query-keys';
import { notificationSchema, type StatusNotification } from '@/lib/video';

/** GET /api/notifications?videoId= — the video's status history, newest first. */
export function getNotifications(videoId: string, signal?: AbortSignal): Promise<StatusNotification[]> {
  return apiClient.get('/api/notifications', z.array(notificationSchema), { videoId, limit: 50 }, signal);
}

export function useNotifications(videoId: string | undefined) {
  return useQuery({
    queryKey: videoKeys.notifications(videoId ?? ''),
    queryFn: ({ signal }) => getNotifications(videoId!, signal),
    enabled: Boolean(videoId),
  });
}
