import { useMutation, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';
import { apiClient } from '@/lib/api-client';
import { storeVideo } from '@/lib/realtime/cache-patch';
import { videoSchema, visibilitySchema, type Video } from '@/lib/video';

export const videoDetailsSchema = z.object({
  title: z.string().trim().min(1, 'Give the video a title.').max(200, 'Keep the title under 200 characters.'),
  description: z.string().trim().max(5000, 'Keep the description under 5000 characters.'),
  visibility: visibilitySchema,
});
export type VideoDetailsInput = z.infer<typeof videoDetailsSchema>;

/** PUT /api/videos/:id — change title, description and visibility. */
export function updateVideo(id: string, input: VideoDetailsInput): Promise<Video> {
  return apiClient.put(`/api/videos/${encodeURIComponent(id)}`, videoSchema, input);
}

export function useUpdateVideo(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (input: VideoDetailsInput) => updateVideo(id, input),
    onSuccess: (video) => storeVideo(qc, video),
  });
}
