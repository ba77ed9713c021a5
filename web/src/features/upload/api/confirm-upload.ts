import { apiClient } from '@/lib/api-client';
import { videoSchema, type Video } from '@/lib/video';

/** POST /api/upload/confirm/:id — the file is in place; queue it for processing. */
export function confirmUpload(videoId: string, signal?: AbortSignal): Promise<Video> {
  return apiClient.post(`/api/upload/confirm/${encodeURIComponent(videoId)}`, videoSchema, {}, signal);
}
