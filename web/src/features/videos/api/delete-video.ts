import { useMutation, useQueryClient } from '@tanstack/react-query';
import { apiClient } from '@/lib/api-client';
import { removeVideo } from '@/lib/realtime/cache-patch';

/** DELETE /api/videos/:id — the video, its upload and its streams. */
export function deleteVideo(id: string): Promise<void> {
  return apiClient.delete(`/api/videos/${encodeURIComponent(id)}`);
}

export function useDeleteVideo() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => deleteVideo(id),
    onSuccess: (_void, id) => removeVideo(qc, id),
  });
}
