import { z } from 'zod';
import { apiClient } from '@/lib/api-client';
import type { Visibility } from '@/lib/video';

export const uploadTicketSchema = z.object({
  presignedUrl: z.string(),
  videoId: z.string(),
  expiresAt: z.string().optional(),
  method: z.string().default('PUT'),
  headers: z.record(z.string(), z.string()).default({}),
});
export type UploadTicket = z.infer<typeof uploadTicketSchema>;

export interface UploadRequest {
  fileName: string;
  fileType: string;
  fileSize: number;
  title?: string;
  description?: string;
  visibility?: Visibility;
}

/** POST /api/upload/generate-presigned-url — creates the video and a signed URL to PUT the file to. */
export function createUploadUrl(req: UploadRequest, signal?: AbortSignal): Promise<UploadTicket> {
  return apiClient.post('/api/upload/generate-presigned-url', uploadTicketSchema, req, signal);
}
