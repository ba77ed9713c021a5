import { apiClient } from '@/lib/api-client';

/** DELETE /api/videos/:id — removes the half-made video of a cancelled upload. Best effort. */
export async function discardUpload(videoId: string): Promise<void> {
  try {
    await apiClient.delete(`/api/videos/${encodeURIComponent(videoId)}`);
  } catch {
    // Left behind, it shows as "Uploading" in the library, where it can be deleted.
  }
}
